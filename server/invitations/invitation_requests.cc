#include "server/invitations/invitation_requests.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/base/error_details.h"
#include "server/upstream/urn.h"
#include "server/base/uuid.h"

namespace followgate {
namespace {

bool AllOf(absl::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}
bool IsRequestIdChar(char c) { return IsIdChar(c) || c == '.' || c == ':'; }
bool IsAccountChar(char c) { return absl::ascii_isgraph(static_cast<unsigned char>(c)); }

}  // namespace

absl::StatusOr<std::string> CanonicalCompanyId(absl::string_view field,
                                               absl::string_view company_id) {
  if (company_id.size() <= 64) {
    if (std::optional<std::string> id = CanonicalNumericId(company_id); id.has_value()) {
      return *std::move(id);
    }
  }
  return InvalidField(
      field, absl::StrCat(field,
                          " must be the numeric LinkedIn company id (1 to 2^63-1, e.g. "
                          "105672170), got ",
                          QuoteForMessage(company_id)));
}

absl::Status ValidateProfileUrn(absl::string_view field, absl::string_view urn) {
  if (absl::StartsWith(urn, kProfileUrnPrefix)) {
    const absl::string_view id = urn.substr(kProfileUrnPrefix.size());
    if (!id.empty() && id.size() <= 200 && AllOf(id, IsIdChar)) return absl::OkStatus();
  }
  if (absl::StartsWith(urn, kPersonUrnPrefix)) {
    return InvalidField(field, absl::StrCat(
        field, " is ", QuoteForMessage(urn),
        ", a member id from the follows API; invitations need a LinkedIn profile URN "
        "(urn:li:fsd_profile:{id}). The two are different identities and cannot be "
        "converted into each other"));
  }
  return InvalidField(
      field, absl::StrCat(field,
                          " must be urn:li:fsd_profile:{id} ({id}: letters, digits, - and _), "
                          "got ",
                          QuoteForMessage(urn)));
}

absl::StatusOr<BatchSpec> BatchSpecFor(const v1::SendInvitationsRequest& request,
                                       int max_profiles) {
  absl::StatusOr<std::string> company_id = CanonicalCompanyId("company_id", request.company_id());
  if (!company_id.ok()) return company_id.status();
  const std::string& account = request.account_id();
  if (account.size() > 128 || !AllOf(account, IsAccountChar)) {
    return InvalidField("account_id",
                        absl::StrCat("account_id must be at most 128 printable characters "
                                     "without spaces, got ",
                                     QuoteForMessage(account)));
  }
  const std::string& request_id = request.request_id();
  if (request_id.size() > 128 || !AllOf(request_id, IsRequestIdChar)) {
    return InvalidField("request_id",
                        absl::StrCat("request_id must be 1 to 128 characters of A-Z a-z 0-9 "
                                     "- _ . : (a UUID is best), got ",
                                     QuoteForMessage(request_id)));
  }
  if (request.profile_urns().empty()) {
    return InvalidField("profile_urns", "profile_urns must hold at least one profile");
  }
  if (request.profile_urns_size() > max_profiles) {
    return InvalidField("profile_urns",
                        absl::StrCat("profile_urns holds ", request.profile_urns_size(),
                                     " profiles; at most ", max_profiles, " per request"));
  }
  for (int i = 0; i < request.profile_urns_size(); ++i) {
    if (absl::Status s = ValidateProfileUrn(absl::StrCat("profile_urns[", i, "]"),
                                            request.profile_urns(i));
        !s.ok()) {
      return s;
    }
  }
  BatchSpec spec;
  spec.request_id = request_id.empty() ? NewUuid() : request_id;
  spec.company_id = *std::move(company_id);
  spec.account_id = account;
  spec.profile_urns.assign(request.profile_urns().begin(), request.profile_urns().end());
  spec.retry_unknown = request.retry_unknown();
  return spec;
}

}  // namespace followgate
