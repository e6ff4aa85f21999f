// Fuzzes the parsers of ConnectSafely's answers (server/upstream/connectsafely_client.h):
// the invitation results of a 200 body, and the wait a 429 asks for (its
// first line is the Retry-After value, its second X-RateLimit-Reset, the rest
// the body). The wait is finite and never negative.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/upstream/connectsafely_client.h"
#include "server/upstream/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  followgate::ParseInviteResults(input).IgnoreError();

  std::vector<std::string> parts = absl::StrSplit(input, absl::MaxSplits('\n', 2));
  parts.resize(3);
  followgate::HttpResponse response;
  response.status_code = 429;
  response.headers.emplace_back("Retry-After", parts[0]);
  response.headers.emplace_back("X-RateLimit-Reset", parts[1]);
  response.body = parts[2];
  const absl::Time now = absl::FromUnixSeconds(1764633600);  // 2025-12-02.
  const absl::Duration wait = followgate::RetryAfter(response, now);
  if (wait < absl::ZeroDuration() || wait == absl::InfiniteDuration()) std::abort();
  return 0;
}
