// Fuzzes the URN checks and the follower classifier (server/upstream/urn.h): any text
// is accepted or refused with INVALID_ARGUMENT, never a crash or a hang.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/upstream/urn.h"

namespace {

void CheckRefusal(const absl::Status& status) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view urn(reinterpret_cast<const char*>(data), size);
  CheckRefusal(followgate::ValidateFolloweeUrn("followee", urn));
  CheckRefusal(followgate::ValidateFollowerUrn("follower", urn));
  static const followgate::FollowerClassifier* const classifier =
      new followgate::FollowerClassifier();
  classifier->Classify(urn);
  return 0;
}
