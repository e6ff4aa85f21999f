// One log line and the metrics of every upstream request, in one place.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_RECORDING_HTTP_CLIENT_H_
#define FOLLOWGATE_SERVER_UPSTREAM_RECORDING_HTTP_CLIENT_H_

#include "absl/status/statusor.h"
#include "server/base/clock.h"
#include "server/upstream/http_client.h"

namespace followgate {

// Sends through `inner` and, for each request, writes one "upstream" log
// line (the request's upstream and log fields, then its outcome: the HTTP
// status, or the transport error's code; its duration by `clock`; the body's
// size; never headers or bodies) and records followgate_upstream_requests_total
// and its duration histogram. Both upstream clients send through it, so
// every request is recorded alike. Thread-safe when `inner` is; `inner` and
// `clock` are not owned.
class RecordingHttpClient final : public HttpClient {
 public:
  RecordingHttpClient(HttpClient* inner, Clock* clock) : inner_(inner), clock_(clock) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  HttpClient* const inner_;
  Clock* const clock_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_RECORDING_HTTP_CLIENT_H_
