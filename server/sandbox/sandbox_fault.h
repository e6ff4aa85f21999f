// Scripted faults for sandbox upstreams: a test queues them and each of the
// next API requests consumes one. Independent of any particular upstream;
// each emulation decides what a status fault's body looks like.
//
// JSON form (the admin endpoint's body is an array of these):
//   {"kind":"status","status":500}   answer this status (400..599)
//   {"kind":"truncate"}              cut the real response in half
//   {"kind":"reset"}                 reset the connection, answer nothing
//   {"kind":"slow","delay_ms":N}     wait N ms (0..600000), then answer
//   {"kind":"lost"}                  process the request fully, then reset
//                                    the connection: the response is lost
//                                    (an emulation of a read-only API may
//                                    treat it like "reset")
//   {"kind":"retry_after","seconds":N}
//                                    answer 429 with `Retry-After: N`
//                                    (0..999999999)
// Hostile LinkedIn answers (a 200 page, changed; ConnectSafely ignores them):
//   {"kind":"repeat_cursor"}         nextPaginationCursor is the request's own
//                                    paginationCursor (a first page, which has
//                                    none, is left alone)
//   {"kind":"oversized_page","elements":N}
//                                    the page holds N elements (1..1000000)
//   {"kind":"bad_timestamp","last_modified_at":N}
//                                    every element's lastModifiedAt is N
//                                    (any 64-bit integer)
//   {"kind":"echo_credentials","status":401}
//                                    answer this status (400..599, default
//                                    401) with an error body that quotes the
//                                    request's Authorization header and the
//                                    bare credential in it (a hostile upstream)
//
// Values and pure functions; thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_SANDBOX_FAULT_H_
#define FOLLOWGATE_SERVER_SANDBOX_SANDBOX_FAULT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate {
namespace sandbox {

struct SandboxFault {
  enum class Kind {
    kStatus,
    kTruncate,
    kReset,
    kSlow,
    kLost,
    kRetryAfter,
    kRepeatCursor,
    kOversizedPage,
    kBadTimestamp,
    kEchoCredentials,
  };

  Kind kind = Kind::kStatus;
  int status = 500;                             // For kStatus, kEchoCredentials.
  absl::Duration delay = absl::ZeroDuration();  // For kSlow.
  // kRetryAfter: seconds; kOversizedPage: elements; kBadTimestamp: the
  // lastModifiedAt value.
  int64_t value = 0;

  static SandboxFault Status(int status);
  static SandboxFault Truncate();
  static SandboxFault Reset();
  static SandboxFault Slow(absl::Duration delay);
  static SandboxFault Lost();
  static SandboxFault RetryAfter(int64_t seconds);
  static SandboxFault RepeatCursor();
  static SandboxFault OversizedPage(int64_t elements);
  static SandboxFault BadTimestamp(int64_t last_modified_at);
  static SandboxFault EchoCredentials(int status);
};

// The error text of an echo_credentials fault: `authorization` (the
// request's Authorization header value) quoted whole and its credential
// without the scheme, e.g. "bad token Bearer abc (credential: abc)".
std::string EchoedCredentialsText(absl::string_view authorization);

// Parses a JSON array of faults. InvalidArgument (saying which element and
// why) for anything else, including out-of-range statuses and delays.
absl::StatusOr<std::vector<SandboxFault>> ParseSandboxFaults(
    absl::string_view json);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_SANDBOX_FAULT_H_
