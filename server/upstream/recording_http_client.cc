#include "server/upstream/recording_http_client.h"

#include <string>

#include "server/base/metrics.h"

namespace followgate {

absl::StatusOr<HttpResponse> RecordingHttpClient::Send(const HttpRequest& request) {
  const absl::Time started = clock_->Now();
  absl::StatusOr<HttpResponse> response = inner_->Send(request);
  const absl::Duration took = clock_->Now() - started;
  const std::string outcome = response.ok() ? std::to_string(response->status_code)
                                            : absl::StatusCodeToString(response.status().code());
  Metrics::Get().RecordUpstream(request.upstream, outcome, took);
  LogFields fields = {{"upstream", request.upstream}};
  fields.insert(fields.end(), request.log_fields.begin(), request.log_fields.end());
  fields.emplace_back("outcome", outcome);
  fields.emplace_back("duration_ms", absl::ToDoubleMilliseconds(took));
  fields.emplace_back("bytes", static_cast<int64_t>(response.ok() ? response->body.size() : 0));
  LogEvent("INFO", "upstream", fields);
  return response;
}

}  // namespace followgate
