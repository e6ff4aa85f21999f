// Fuzzes the parser of LinkedIn's follows answers (ParseFollowsPage in
// server/upstream/linkedin_client.h): any body is a page or an error status, never a
// crash or an abort inside protobuf.
#include <cstdint>

#include "absl/strings/string_view.h"
#include "server/upstream/linkedin_client.h"
#include "server/upstream/urn.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const followgate::FollowerClassifier* const classifier =
      new followgate::FollowerClassifier();
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  followgate::ParseFollowsPage(body, *classifier).IgnoreError();
  return 0;
}
