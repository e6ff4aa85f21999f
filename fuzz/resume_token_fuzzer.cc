// Fuzzes the decoding of resume and page tokens (server/follows/resume_token.h): any
// text is a resume point or INVALID_ARGUMENT, and a point decoded from a
// token encodes back to a token that decodes to the same point.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/follows/resume_token.h"

namespace {

// A fixed key: the fuzzer explores the decoder, including the legacy fg1
// format and MAC checks that fail.
const followgate::ResumeTokenCodec& Codec() {
  static const auto* const codec =
      new followgate::ResumeTokenCodec(std::string(followgate::ResumeTokenCodec::kKeyBytes, 'k'));
  return *codec;
}

absl::StatusOr<followgate::ResumePoint> Decode(absl::string_view token) {
  return Codec().Decode("resume_token", token);
}

std::string Encode(const followgate::ResumePoint& point) { return Codec().Encode(point); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view token(reinterpret_cast<const char*>(data), size);
  auto point = Decode(token);
  if (!point.ok()) {
    if (point.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto again = Decode(Encode(*point));
  if (!again.ok() || again->query_fingerprint != point->query_fingerprint ||
      again->snapshot_id != point->snapshot_id || again->page != point->page ||
      again->stream_sequence != point->stream_sequence) {
    std::abort();
  }
  return 0;
}
