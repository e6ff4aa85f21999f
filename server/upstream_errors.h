// The one table that turns upstream outcomes into statuses and retry advice.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_ERRORS_H_
#define FOLLOWGATE_SERVER_UPSTREAM_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

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

#endif  // FOLLOWGATE_SERVER_UPSTREAM_ERRORS_H_
