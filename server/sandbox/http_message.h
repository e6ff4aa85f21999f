// Plain data types shared by the sandbox HTTP server, its router and the
// upstream emulations mounted on it: a parsed request, a reply (optionally a
// scripted transport fault) and the handler signature.
//
// Values only; no synchronisation. A handler may be called concurrently from
// several connection threads and must be thread-safe itself.

#ifndef FOLLOWGATE_SERVER_SANDBOX_HTTP_MESSAGE_H_
#define FOLLOWGATE_SERVER_SANDBOX_HTTP_MESSAGE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate {
namespace sandbox {

struct HttpHeader {
  std::string name;
  std::string value;
};

// One request as received. `path` and `query` are the raw (still
// percent-encoded) halves of `target` around the first '?'.
struct HttpRequest {
  std::string method;
  std::string target;
  std::string path;
  std::string query;
  std::string version;              // "HTTP/1.0" or "HTTP/1.1".
  std::vector<HttpHeader> headers;  // In arrival order, names as sent.
  std::string body;                 // Exactly Content-Length bytes.
  absl::Time arrival_time;          // When the whole request was read.

  // The value of the first header called `name` (ASCII case-insensitive), or
  // nullptr. The pointer is valid as long as this request is not modified.
  const std::string* FindHeader(absl::string_view name) const;
};

// What the server does instead of (or on top of) a normal response.
enum class HttpFault {
  kNone,
  // Sends the status line and headers with the full Content-Length, then only
  // the first half of the body, then closes the connection.
  kTruncate,
  // Closes the connection abortively (SO_LINGER 0) without writing anything,
  // so the client sees a connection reset.
  kReset,
};

struct HttpReply {
  int status = 200;
  // Extra headers. Content-Length and Connection are always written by the
  // server; handler-supplied ones with those names are ignored.
  std::vector<HttpHeader> headers;
  std::string body;
  HttpFault fault = HttpFault::kNone;
  // Waited before anything is sent; cut short (and the connection closed)
  // when the server stops.
  absl::Duration delay = absl::ZeroDuration();

  // A response with `Content-Type: application/json`.
  static HttpReply Json(int status, std::string body);
  // A connection reset (see HttpFault::kReset).
  static HttpReply Reset();
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_HTTP_MESSAGE_H_
