// LinkedIn-style error replies:
//   {"status":N,"serviceErrorCode":E,"code":"C","message":"M"}
// with serviceErrorCode and code left out when LinkedIn leaves them out.
//
// Pure functions; thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_ERRORS_H_
#define FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_ERRORS_H_

#include "absl/strings/string_view.h"
#include "server/sandbox/http_message.h"

namespace followgate {
namespace sandbox {

// `service_error_code` 0 and an empty `code` are omitted from the body.
HttpReply LinkedInError(int status, int service_error_code,
                        absl::string_view code, absl::string_view message);

// 400 with code BAD_REQUEST.
HttpReply LinkedInBadRequest(absl::string_view message);

// 429 with LinkedIn's throttle body (serviceErrorCode 101).
HttpReply LinkedInThrottled();

// The reply for an injected status fault: LinkedIn's usual body for `status`
// (the throttle body for 429), or only status and message when LinkedIn has
// no code for it.
HttpReply LinkedInErrorForStatus(int status);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_ERRORS_H_
