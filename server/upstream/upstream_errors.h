// The one table that turns upstream outcomes into statuses and retry advice.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_UPSTREAM_ERRORS_H_
#define FOLLOWGATE_SERVER_UPSTREAM_UPSTREAM_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate {

// What to do after a failed upstream exchange.
enum class RetryAdvice {
  kDoNotRetry,
  // Transient failure (timeout, broken connection, 5xx, truncated body):
  // retry the same request after the configured backoff.
  kRetryAfterBackoff,
  // Throttled (429): retry after a full rate-limit interval.
  kRetryAfterInterval,
};

// The status for an HTTP answer from LinkedIn that is not 2xx. The message
// carries LinkedIn's own `code` and `message` from the JSON error body (never
// request headers, so never the token) and what the operator can do.
absl::Status LinkedInHttpError(int http_status, absl::string_view body);

// The status for a LinkedIn exchange that failed below HTTP: `transport` is an
// HttpClient error (see http_client.h).
absl::Status LinkedInTransportError(const absl::Status& transport);

// The status for a 2xx answer whose body is not the JSON LinkedIn documents
// (truncated or garbled): transient, retried like a broken connection.
absl::Status LinkedInMalformedBody(absl::string_view why);

// How a 2xx LinkedIn answer that parses as JSON breaks the documented
// contract. Such an answer is not retried: the same request would get it again.
enum class LinkedInContractBreach {
  // A value out of its documented range or an absurd string length.
  kInvalidPage,
  // More elements than the maxPaginationCount requested.
  kPageTooLarge,
  // A nextPaginationCursor already seen in the same sequence.
  kCursorRepeated,
  // Far more pages or elements than paging.total implies.
  kSequenceTooLong,
};

// FAILED_PRECONDITION (kDoNotRetry) with the breach's ErrorInfo reason
// (LINKEDIN_INVALID_PAGE, _PAGE_TOO_LARGE, _CURSOR_REPEATED,
// _SEQUENCE_TOO_LONG); `why` says what was wrong.
absl::Status LinkedInContractError(LinkedInContractBreach breach, absl::string_view why);

// The wait a 429 answer asks for: `Retry-After` (seconds or an HTTP date),
// else `X-RateLimit-Reset` (Unix seconds when large, else seconds from now);
// nullopt when neither is present and parses. Never negative, and never more
// than `cap` (the caller decides what a longer wait means; kMaxHonouredRetryAfter
// keeps the value meaningful while bounding it).
inline constexpr absl::Duration kMaxHonouredRetryAfter = absl::Hours(24 * 365 * 10);
std::optional<absl::Duration> RetryAfterHeader(absl::string_view retry_after,
                                               absl::string_view rate_limit_reset,
                                               absl::Time now, absl::Duration cap);

// The advice recorded on a status made by the functions above; kDoNotRetry for
// any other status.
RetryAdvice RetryAdviceOf(const absl::Status& status);

// How a ConnectSafely exchange ended. Its requests send invitations, so what
// matters is whether they may have been carried out.
enum class SendDisposition {
  // 200: look at each profile's result.
  kAnswered,
  // Refused as a whole (400, 401, 403, 404...): nothing was sent; stop.
  kRejected,
  // 429: nothing was sent; retry after a delay.
  kThrottled,
  // Failed before any byte left (connection refused): safe to retry.
  kNotSent,
  // May have been carried out but the answer is lost (timeout, reset, 5xx,
  // truncated or garbled body): its profiles are UNKNOWN.
  kAmbiguous,
};

struct ConnectSafelyError {
  SendDisposition disposition;
  absl::Status status;
};

// For an HTTP answer from ConnectSafely that is not 2xx; quotes its `error`.
ConnectSafelyError ConnectSafelyHttpError(int http_status, absl::string_view body);
// For an exchange that failed below HTTP (an HttpClient transport error).
ConnectSafelyError ConnectSafelyTransportError(const absl::Status& transport);
// For a 200 whose body is not the documented JSON.
ConnectSafelyError ConnectSafelyMalformedBody(absl::string_view why);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_UPSTREAM_ERRORS_H_
