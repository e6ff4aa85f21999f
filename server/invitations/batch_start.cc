#include "server/invitations/batch_start.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/base/error_details.h"

namespace followgate {

absl::Status CheckRepeatedBatch(const StoredBatch& stored, const BatchSpec& spec) {
  auto differs = [&](absl::string_view what) {
    return WithErrorInfo(
        absl::AlreadyExistsError(absl::StrCat(
            "request_id \"", spec.request_id, "\" already names a batch with a different ", what,
            ": repeat that request unchanged, or use a new request_id")),
        "REQUEST_ID_REUSED", {{"request_id", spec.request_id}});
  };
  if (stored.company_id != spec.company_id) return differs("company_id");
  if (stored.account_id != spec.account_id) return differs("account_id");
  if (stored.retry_unknown != spec.retry_unknown) return differs("retry_unknown");
  if (stored.profile_urns.size() != spec.profile_urns.size()) {
    return differs(absl::StrCat("number of profiles (", stored.profile_urns.size(), ")"));
  }
  for (size_t i = 0; i < spec.profile_urns.size(); ++i) {
    if (stored.profile_urns[i] != spec.profile_urns[i]) {
      return differs(absl::StrCat("profile_urns[", i, "]"));
    }
  }
  return absl::OkStatus();
}

std::vector<NewBatchProfile> NewBatchProfiles(const BatchSpec& spec) {
  std::vector<NewBatchProfile> profiles;
  profiles.reserve(spec.profile_urns.size());
  absl::flat_hash_map<std::string, int> first_index;
  for (int i = 0; i < static_cast<int>(spec.profile_urns.size()); ++i) {
    const std::string& urn = spec.profile_urns[i];
    auto [it, first] = first_index.emplace(urn, i);
    NewBatchProfile profile;
    profile.index = i;
    profile.profile_urn = urn;
    if (!first) {
      profile.duplicate = true;
      profile.reason = absl::StrCat("repeats profile_urns[", it->second, "]");
    }
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

}  // namespace followgate
