#include "server/upstream/connectsafely_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/log.h"
#include "server/base/metrics.h"

namespace followgate {
namespace {

using nlohmann::json;

}  // namespace

absl::StatusOr<std::vector<InviteResult>> ParseInviteResults(absl::string_view body) {
  const json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  auto results = root.find("results");
  if (results == root.end() || !results->is_array()) {
    return absl::InvalidArgumentError("no results array");
  }
  std::vector<InviteResult> out;
  for (const json& item : *results) {
    if (!item.is_object()) return absl::InvalidArgumentError("a result is not an object");
    auto urn = item.find("profileUrn");
    if (urn == item.end() || !urn->is_string()) {
      return absl::InvalidArgumentError("a result has no profileUrn");
    }
    InviteResult result;
    result.profile_urn = urn->get<std::string>();
    if (auto success = item.find("success"); success != item.end() && success->is_boolean()) {
      result.success = success->get<bool>();
    }
    if (auto status = item.find("status"); status != item.end() && status->is_string()) {
      result.status = status->get<std::string>();
    }
    if (auto error = item.find("error"); error != item.end() && error->is_string()) {
      result.error = error->get<std::string>().substr(0, 300);
    }
    out.push_back(std::move(result));
  }
  return out;
}

absl::Duration RetryAfter(const HttpResponse& response, absl::Time now) {
  return RetryAfterHeader(response.Header("Retry-After"), response.Header("X-RateLimit-Reset"),
                          now, kMaxHonouredRetryAfter)
      .value_or(absl::ZeroDuration());
}

ConnectSafelyClient::ConnectSafelyClient(HttpClient* http, Clock* clock,
                                         ConnectSafelyClientOptions options)
    : http_(http), clock_(clock), options_(std::move(options)) {}

std::string ConnectSafelyClient::RequestUrl(const std::string& company_id) const {
  return absl::StrCat(options_.base_url, "/linkedin/organizations/", company_id,
                      "/follow-invitations");
}

InviteAnswer ConnectSafelyClient::SendInvitations(
    const std::string& company_id, const std::string& account_id,
    const std::vector<std::string>& profile_urns) const {
  if (options_.api_key_source == nullptr) {
    return SendWithKey(company_id, account_id, profile_urns, options_.api_key);
  }
  const SecretSource::Value key = options_.api_key_source->Current();
  InviteAnswer answer = SendWithKey(company_id, account_id, profile_urns, key.secret);
  if (absl::IsUnauthenticated(answer.status) &&
      options_.api_key_source->RereadAfterRejection(key.generation)) {
    LogInfo(absl::StrCat("ConnectSafely answered 401 for company ", company_id,
                         "; the key file holds a new key: sending again with it"));
    return SendWithKey(company_id, account_id, profile_urns,
                       options_.api_key_source->Current().secret);
  }
  return answer;
}

InviteAnswer ConnectSafelyClient::SendWithKey(const std::string& company_id,
                                              const std::string& account_id,
                                              const std::vector<std::string>& profile_urns,
                                              const std::string& api_key) const {
  json body = {{"companyId", company_id}, {"profileUrns", profile_urns}};
  if (!account_id.empty()) body["accountId"] = account_id;
  HttpRequest request;
  request.method = "POST";
  request.url = RequestUrl(company_id);
  request.headers = {{"Authorization", absl::StrCat("Bearer ", api_key)},
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  request.body = body.dump();
  request.timeout = options_.request_timeout;

  InviteAnswer answer;
  request.upstream = "connectsafely";
  request.log_fields = {{"company_id", company_id},
                        {"profiles", static_cast<int64_t>(profile_urns.size())}};
  absl::StatusOr<HttpResponse> response = http_->Send(request);
  if (!response.ok()) {
    ConnectSafelyError error = ConnectSafelyTransportError(response.status());
    answer.disposition = error.disposition;
    answer.status = std::move(error.status);
    return answer;
  }
  if (response->status_code < 200 || response->status_code > 299) {
    ConnectSafelyError error = ConnectSafelyHttpError(response->status_code, response->body);
    answer.disposition = error.disposition;
    answer.status = std::move(error.status);
    if (answer.disposition == SendDisposition::kThrottled) {
      Metrics::Get().RecordThrottled("connectsafely");
      answer.retry_after = RetryAfter(*response, clock_->Now());
    }
    return answer;
  }
  absl::StatusOr<std::vector<InviteResult>> results = ParseInviteResults(response->body);
  if (!results.ok()) {
    ConnectSafelyError error = ConnectSafelyMalformedBody(results.status().message());
    answer.disposition = error.disposition;
    answer.status = std::move(error.status);
    return answer;
  }
  answer.results = *std::move(results);
  return answer;
}

}  // namespace followgate
