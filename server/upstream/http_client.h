// The small HTTP interface that the upstream adapters talk to.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_HTTP_CLIENT_H_
#define FOLLOWGATE_SERVER_UPSTREAM_HTTP_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/log.h"

namespace followgate {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  // Bounds the whole exchange, from connecting to the last body byte.
  absl::Duration timeout = absl::Seconds(30);
  // Optional; not owned. Aborts the exchange when cancelled.
  const CancellationToken* cancel = nullptr;
  // For the request's log line and metrics (see RecordingHttpClient): the
  // upstream's name (e.g. "linkedin") and what the request is about. Never
  // secrets, headers or bodies.
  std::string upstream;
  LogFields log_fields;
};

struct HttpResponse {
  int status_code = 0;
  HttpHeaders headers;  // Names as received.
  std::string body;

  // The first header named `name` (case-insensitive), or "" if absent.
  absl::string_view Header(absl::string_view name) const;
};

// Sends one HTTP request; no retries. Any HTTP status, 4xx and 5xx included,
// is a successful exchange. A failed exchange returns a transport error:
//   DEADLINE_EXCEEDED  the timeout passed;
//   UNAVAILABLE        no connection, or the connection broke;
//                      IsRequestNeverSent() tells whether it broke before the
//                      request could have reached the server;
//   DATA_LOSS          the body ended before its announced length;
//   OUT_OF_RANGE       the body was longer than the client's limit (the rest
//                      was not read; the request did reach the server);
//   CANCELLED          `cancel` fired;
//   INTERNAL           anything else (a bad URL, an out-of-memory...).
// Implementations are thread-safe.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Marks a transport error as one that happened before any byte of the request
// left (e.g. connection refused), so that a non-idempotent request is safe to
// send again.
absl::Status MarkRequestNeverSent(absl::Status status);
bool IsRequestNeverSent(const absl::Status& status);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_HTTP_CLIENT_H_
