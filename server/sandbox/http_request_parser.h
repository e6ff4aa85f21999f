// Parsing of an HTTP/1.x request head (request line and header fields) and of
// the body framing it announces. Strict where leniency would hide client
// bugs, and never crashes on arbitrary bytes.
//
// Pure functions; thread-safe. Errors carry the HTTP status the server
// answers with, see HttpStatusForParseError().

#ifndef FOLLOWGATE_SERVER_SANDBOX_HTTP_REQUEST_PARSER_H_
#define FOLLOWGATE_SERVER_SANDBOX_HTTP_REQUEST_PARSER_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sandbox/http_message.h"

namespace followgate {
namespace sandbox {

// Parses `head`: "METHOD SP origin-form-target SP HTTP/1.x" followed by
// CRLF-separated "Name: value" lines, without the terminating empty line.
// Fills method, target, path, query, version and headers; leaves body and
// arrival_time empty.
// Errors: InvalidArgument (malformed line, obsolete line folding, bad
// characters), FailedPrecondition (an HTTP version other than 1.0/1.1).
absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head);

// The body length announced by Content-Length (0 when absent).
// Errors: InvalidArgument (not a decimal number, or conflicting values),
// Unimplemented (Transfer-Encoding, which this server does not support).
absl::StatusOr<size_t> RequestBodyLength(const HttpRequest& request);

// Whether the connection stays open after answering `request`: HTTP/1.1
// unless "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
bool WantsKeepAlive(const HttpRequest& request);

// The status to answer a parse error with: 400, 501 or 505.
int HttpStatusForParseError(const absl::Status& status);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_HTTP_REQUEST_PARSER_H_
