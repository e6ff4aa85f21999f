#include "server/sandbox/sandbox_upstreams.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/http_query.h"
#include "server/sandbox/sandbox_fault.h"

namespace followgate {
namespace sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kAdminPrefix[] = "/_sandbox/connectsafely/";

HttpReply JsonReply(int status, const Json& body) {
  return HttpReply::Json(
      status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

HttpReply AdminError(int status, absl::string_view message) {
  return JsonReply(status, {{"error", std::string(message)}});
}

Json StatsJson(const ConnectSafelyStats& stats) {
  Json by_status = Json::object();
  for (const auto& [status, count] : stats.by_status) {
    by_status[absl::StrCat(status)] = count;
  }
  Json body;
  body["requests"] = stats.requests;
  body["by_status"] = std::move(by_status);
  body["throttled"] = stats.throttled;
  body["connection_resets"] = stats.connection_resets;
  body["lost_responses"] = stats.lost_responses;
  body["processed_requests"] = stats.processed_requests;
  body["max_profiles_in_a_request"] = stats.max_profiles_in_a_request;
  body["profiles_received"] = stats.profiles_received;
  body["invitations_sent"] = stats.invitations_sent;
  body["duplicate_receipts"] = stats.duplicate_receipts;
  body["faults_pending"] = stats.faults_pending;
  return body;
}

// GET received?company=ID.
HttpReply Received(const ConnectSafelyApi& api, const HttpRequest& request) {
  absl::StatusOr<QueryParams> params = ParseQueryString(request.query);
  if (!params.ok()) {
    return AdminError(400, params.status().message());
  }
  int64_t company = 0;
  bool found = false;
  for (const auto& [name, value] : *params) {
    if (name == "company") found = absl::SimpleAtoi(value, &company);
  }
  if (!found || company <= 0) {
    return AdminError(400, "company must be a positive company id");
  }
  Json body = Json::object();
  for (const auto& [urn, count] : api.Received(company)) body[urn] = count;
  return JsonReply(200, body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxUpstreams>> SandboxUpstreams::Start(
    const SandboxUpstreamsOptions& options) {
  absl::StatusOr<std::unique_ptr<ConnectSafelyApi>> connectsafely =
      ConnectSafelyApi::Create(options.connectsafely);
  if (!connectsafely.ok()) return connectsafely.status();
  absl::StatusOr<std::unique_ptr<LinkedInSandbox>> linkedin =
      LinkedInSandbox::Start(options.linkedin);
  if (!linkedin.ok()) return linkedin.status();

  // Until the mounts below, /linkedin/ answers LinkedIn's 404; nobody knows
  // the port yet.
  std::unique_ptr<SandboxUpstreams> upstreams(
      new SandboxUpstreams(*std::move(connectsafely), *std::move(linkedin)));
  SandboxUpstreams* raw = upstreams.get();
  HttpRouter& router = raw->linkedin_->router();
  router.Mount(kConnectSafelyApiPrefix, [raw](const HttpRequest& request) {
    return raw->connectsafely_->Handle(request);
  });
  router.Mount(kAdminPrefix, [raw](const HttpRequest& request) {
    return raw->HandleConnectSafelyAdmin(request);
  });
  return upstreams;
}

SandboxUpstreams::SandboxUpstreams(
    std::unique_ptr<ConnectSafelyApi> connectsafely,
    std::unique_ptr<LinkedInSandbox> linkedin)
    : connectsafely_(std::move(connectsafely)),
      linkedin_(std::move(linkedin)) {}

HttpReply SandboxUpstreams::HandleConnectSafelyAdmin(
    const HttpRequest& request) {
  const absl::string_view endpoint =
      absl::string_view(request.path).substr(sizeof(kAdminPrefix) - 1);
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (endpoint == "faults" && post) {
    absl::StatusOr<std::vector<SandboxFault>> faults =
        ParseSandboxFaults(request.body);
    if (!faults.ok()) return AdminError(400, faults.status().message());
    connectsafely_->AddFaults(*faults);
    return JsonReply(
        200, {{"faults_pending", connectsafely_->Stats().faults_pending}});
  }
  if (endpoint == "stats" && get) {
    return JsonReply(200, StatsJson(connectsafely_->Stats()));
  }
  if (endpoint == "received" && get) return Received(*connectsafely_, request);
  if (endpoint == "reset" && post) {
    connectsafely_->Reset();
    return JsonReply(200, StatsJson(connectsafely_->Stats()));
  }
  if (endpoint == "faults" || endpoint == "stats" || endpoint == "received" ||
      endpoint == "reset") {
    return AdminError(405, "method not allowed");
  }
  return AdminError(404, "no such admin endpoint");
}

}  // namespace sandbox
}  // namespace followgate
