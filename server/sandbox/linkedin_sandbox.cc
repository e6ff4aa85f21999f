#include "server/sandbox/linkedin_sandbox.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/http_query.h"
#include "server/sandbox/linkedin_errors.h"

namespace followgate {
namespace sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kApiPrefix[] = "/rest/";
constexpr char kAdminPrefix[] = "/_sandbox/";

HttpReply NoSuchResource(const HttpRequest&) {
  return LinkedInError(404, 0, "NOT_FOUND", "No virtual resource found");
}

HttpReply JsonReply(int status, const Json& body) {
  return HttpReply::Json(
      status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// Printable ASCII without spaces, so it can follow "Bearer ".
bool IsValidToken(absl::string_view token) {
  if (token.empty()) return false;
  return std::all_of(token.begin(), token.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

absl::StatusOr<int> ParseVersionOption(absl::string_view name,
                                       absl::string_view value) {
  const absl::optional<int> yyyymm = ParseLinkedInVersion(value);
  if (!yyyymm.has_value() || value.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be a LinkedIn version YYYYMM, got '", value, "'"));
  }
  return *yyyymm;
}

absl::StatusOr<LinkedInFollowsApiOptions> ApiOptions(
    const LinkedInSandboxOptions& options) {
  LinkedInFollowsApiOptions api;
  absl::StatusOr<int> oldest =
      ParseVersionOption("oldest_version", options.oldest_version);
  if (!oldest.ok()) return oldest.status();
  api.oldest_version = *oldest;
  if (!options.newest_version.empty()) {
    absl::StatusOr<int> newest =
        ParseVersionOption("newest_version", options.newest_version);
    if (!newest.ok()) return newest.status();
    if (*newest < *oldest) {
      return absl::InvalidArgumentError(
          "newest_version must not be older than oldest_version");
    }
    api.newest_version = *newest;
  }
  if (options.masked_every < 0) {
    return absl::InvalidArgumentError("masked_every must be 0 (off) or more");
  }
  api.masked_every = options.masked_every;
  return api;
}

absl::Status ValidateGatewayOptions(const LinkedInSandboxOptions& options) {
  if (!IsValidToken(options.access_token)) {
    return absl::InvalidArgumentError(
        "the access token must be non-empty printable ASCII without spaces");
  }
  if (options.min_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_interval must not be negative");
  }
  if (options.max_recorded_requests == 0) {
    return absl::InvalidArgumentError("max_recorded_requests must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LinkedInSandbox>> LinkedInSandbox::Start(
    const LinkedInSandboxOptions& options) {
  if (absl::Status status = ValidateGatewayOptions(options); !status.ok()) {
    return status;
  }
  absl::StatusOr<LinkedInFollowsApiOptions> api_options = ApiOptions(options);
  if (!api_options.ok()) return api_options.status();
  absl::StatusOr<FollowDataset> dataset =
      FollowDataset::Create(options.pages, options.prolific_follower_id,
                            options.prolific_followee_count);
  if (!dataset.ok()) return dataset.status();

  std::unique_ptr<LinkedInSandbox> sandbox(
      new LinkedInSandbox(options, *std::move(dataset), *api_options));
  LinkedInSandbox* raw = sandbox.get();
  sandbox->router_.Mount(kApiPrefix, [raw](const HttpRequest& request) {
    return raw->HandleApi(request);
  });
  sandbox->router_.Mount(kAdminPrefix, [raw](const HttpRequest& request) {
    return raw->HandleAdmin(request);
  });
  sandbox->router_.Mount("/oauth/v2/", [raw](const HttpRequest& request) {
    return raw->HandleOAuth(request);
  });
  HttpServerOptions server_options;
  server_options.port = options.port;
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(server_options, sandbox->router_.AsHandler());
  if (!server.ok()) return server.status();
  sandbox->server_ = *std::move(server);
  return sandbox;
}

LinkedInSandbox::LinkedInSandbox(const LinkedInSandboxOptions& options,
                                 FollowDataset dataset,
                                 LinkedInFollowsApiOptions api_options)
    : options_(options),
      min_interval_(options.min_interval),
      max_recorded_requests_(options.max_recorded_requests),
      api_(std::move(dataset), api_options),
      router_(NoSuchResource) {
  const absl::Time expires_at = options.token_lifetime == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : absl::Now() + options.token_lifetime;
  tokens_.push_back(AcceptedToken{options.access_token, expires_at});
  for (const std::string& token : options.more_tokens) {
    tokens_.push_back(AcceptedToken{token, expires_at});
  }
}

LinkedInSandbox::~LinkedInSandbox() {
  if (server_ != nullptr) server_->Stop();
}

int LinkedInSandbox::port() const { return server_->port(); }

std::string LinkedInSandbox::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port());
}

LinkedInSandboxStats LinkedInSandbox::Stats() const {
  absl::MutexLock lock(&mu_);
  LinkedInSandboxStats stats = stats_;
  stats.faults_pending = static_cast<int64_t>(faults_.size());
  return stats;
}

std::vector<RecordedRequest> LinkedInSandbox::Requests() const {
  absl::MutexLock lock(&mu_);
  return std::vector<RecordedRequest>(requests_.begin(), requests_.end());
}

void LinkedInSandbox::AddFaults(const std::vector<SandboxFault>& faults) {
  absl::MutexLock lock(&mu_);
  faults_.insert(faults_.end(), faults.begin(), faults.end());
}

void LinkedInSandbox::ResetStats() {
  absl::MutexLock lock(&mu_);
  stats_ = LinkedInSandboxStats();
  requests_.clear();
}

void LinkedInSandbox::Reset() {
  absl::MutexLock lock(&mu_);
  stats_ = LinkedInSandboxStats();
  requests_.clear();
  faults_.clear();
  last_accepted_.clear();
}

namespace {

// Rewrites a 200 page as a hostile LinkedIn would (see sandbox_fault.h).
void MakeHostile(const SandboxFault& fault, const HttpRequest& request, HttpReply* reply) {
  nlohmann::json page = nlohmann::json::parse(reply->body, nullptr, false);
  if (!page.is_object() || !page["elements"].is_array()) return;
  nlohmann::json& elements = page["elements"];
  switch (fault.kind) {
    case SandboxFault::Kind::kRepeatCursor: {
      absl::StatusOr<QueryParams> query = ParseQueryString(request.query);
      if (!query.ok()) return;
      for (const auto& [name, value] : *query) {
        if (name == "paginationCursor") page["metadata"]["nextPaginationCursor"] = value;
      }
      break;
    }
    case SandboxFault::Kind::kOversizedPage: {
      nlohmann::json model = elements.empty() ? nlohmann::json::object() : elements[0];
      elements = nlohmann::json::array();
      for (int64_t i = 0; i < fault.value; ++i) {
        model["follower"] = absl::StrCat("urn:li:person:oversized", i);
        elements.push_back(model);
      }
      break;
    }
    case SandboxFault::Kind::kBadTimestamp:
      for (nlohmann::json& element : elements) element["lastModifiedAt"] = fault.value;
      break;
    default:
      return;
  }
  reply->body = page.dump();
}

}  // namespace

HttpReply LinkedInSandbox::HandleApi(const HttpRequest& request) {
  GatewayDecision decision = Admit(request);
  HttpReply reply = decision.reply.has_value() ? *std::move(decision.reply)
                                               : api_.Handle(request);
  if (decision.fault.has_value()) {
    if (decision.fault->kind == SandboxFault::Kind::kTruncate) {
      reply.fault = HttpFault::kTruncate;
    } else if (decision.fault->kind == SandboxFault::Kind::kSlow) {
      reply.delay = decision.fault->delay;
    } else if (reply.status == 200) {
      MakeHostile(*decision.fault, request, &reply);
    }
  }
  Record(request, reply, decision.throttled, decision.token);
  return reply;
}

LinkedInSandbox::GatewayDecision LinkedInSandbox::Admit(
    const HttpRequest& request) {
  GatewayDecision decision;
  decision.reply = CheckToken(request, &decision.token);
  if (decision.reply.has_value()) return decision;

  absl::MutexLock lock(&mu_);
  auto last = last_accepted_.find(decision.token);
  if (min_interval_ > absl::ZeroDuration() && last != last_accepted_.end() &&
      request.arrival_time - last->second < min_interval_) {
    decision.reply = LinkedInThrottled();
    decision.throttled = true;
    return decision;
  }
  last_accepted_[decision.token] = last != last_accepted_.end()
                                       ? std::max(last->second, request.arrival_time)
                                       : request.arrival_time;
  if (faults_.empty()) return decision;
  const SandboxFault fault = faults_.front();
  faults_.pop_front();
  switch (fault.kind) {
    case SandboxFault::Kind::kStatus:
      decision.reply = LinkedInErrorForStatus(fault.status);
      break;
    case SandboxFault::Kind::kReset:
    case SandboxFault::Kind::kLost:  // A read has nothing to lose: a reset.
      decision.reply = HttpReply::Reset();
      break;
    case SandboxFault::Kind::kRetryAfter:
      decision.reply = LinkedInThrottled();
      decision.reply->headers.push_back({"Retry-After", absl::StrCat(fault.value)});
      break;
    case SandboxFault::Kind::kTruncate:
    case SandboxFault::Kind::kSlow:
    case SandboxFault::Kind::kRepeatCursor:
    case SandboxFault::Kind::kOversizedPage:
    case SandboxFault::Kind::kBadTimestamp:
      decision.fault = fault;
      break;
    case SandboxFault::Kind::kEchoCredentials: {
      const std::string* authorization = request.FindHeader("Authorization");
      decision.reply = LinkedInError(
          fault.status, 65602, "INVALID_ACCESS_TOKEN",
          EchoedCredentialsText(authorization == nullptr ? "" : *authorization));
      break;
    }
  }
  return decision;
}

absl::optional<HttpReply> LinkedInSandbox::CheckToken(const HttpRequest& request,
                                                      int* token_index) const {
  const std::string* authorization = request.FindHeader("Authorization");
  const absl::string_view value =
      authorization == nullptr ? absl::string_view()
                               : absl::StripAsciiWhitespace(*authorization);
  const bool bearer = absl::StartsWithIgnoreCase(value, "Bearer") &&
                      (value.size() == 6 || value[6] == ' ');
  const absl::string_view token =
      bearer ? absl::StripLeadingAsciiWhitespace(value.substr(6)) : value;
  if (token.empty()) {
    return LinkedInError(401, 65600, "EMPTY_ACCESS_TOKEN",
                         "Empty oauth2 access token");
  }
  absl::MutexLock lock(&mu_);
  const auto known = std::find_if(tokens_.begin(), tokens_.end(),
                                  [&](const AcceptedToken& t) { return t.token == token; });
  if (!bearer || known == tokens_.end()) {
    return LinkedInError(401, 65600, "INVALID_ACCESS_TOKEN",
                         "Invalid access token");
  }
  if (request.arrival_time >= known->expires_at) {
    return LinkedInError(401, 65601, "EXPIRED_ACCESS_TOKEN",
                         "The token used in the request has expired");
  }
  *token_index = static_cast<int>(known - tokens_.begin());
  return absl::nullopt;
}

void LinkedInSandbox::Record(const HttpRequest& request, const HttpReply& reply,
                             bool throttled, int token) {
  const bool reset = reply.fault == HttpFault::kReset;
  absl::MutexLock lock(&mu_);
  ++stats_.requests;
  if (throttled) ++stats_.throttled;
  if (token >= 0) {
    ++stats_.requests_by_token[token];
    if (throttled) ++stats_.throttled_by_token[token];
  }
  if (reset) {
    ++stats_.connection_resets;
  } else {
    ++stats_.by_status[reply.status];
  }
  requests_.push_back(RecordedRequest{request.method, request.target,
                                      request.headers, request.arrival_time,
                                      reset ? 0 : reply.status});
  while (requests_.size() > max_recorded_requests_) requests_.pop_front();
}

HttpReply LinkedInSandbox::HandleAdmin(const HttpRequest& request) {
  const std::string& path = request.path;
  const bool is_post = request.method == "POST";
  if (path == "/_sandbox/faults" && is_post) return AdminAddFaults(request);
  if (path == "/_sandbox/stats" && request.method == "GET") return AdminStats();
  if (path == "/_sandbox/reset" && is_post) {
    Reset();
    return AdminStats();
  }
  if (path == "/_sandbox/faults" || path == "/_sandbox/stats" ||
      path == "/_sandbox/reset") {
    return JsonReply(405, {{"error", "method not allowed"}});
  }
  return JsonReply(404, {{"error", "no such admin endpoint"}});
}

HttpReply LinkedInSandbox::AdminAddFaults(const HttpRequest& request) {
  absl::StatusOr<std::vector<SandboxFault>> faults =
      ParseSandboxFaults(request.body);
  if (!faults.ok()) {
    return JsonReply(400, {{"error", std::string(faults.status().message())}});
  }
  AddFaults(*faults);
  return JsonReply(200, {{"faults_pending", Stats().faults_pending}});
}

HttpReply LinkedInSandbox::AdminStats() const {
  const LinkedInSandboxStats stats = Stats();
  Json by_status = Json::object();
  for (const auto& [status, count] : stats.by_status) {
    by_status[absl::StrCat(status)] = count;
  }
  Json body;
  body["requests"] = stats.requests;
  body["throttled"] = stats.throttled;
  body["by_status"] = std::move(by_status);
  body["connection_resets"] = stats.connection_resets;
  body["faults_pending"] = stats.faults_pending;
  body["token_refreshes"] = stats.token_refreshes;
  body["introspections"] = stats.introspections;
  Json by_token = Json::object();
  for (const auto& [token, count] : stats.requests_by_token) {
    auto throttled = stats.throttled_by_token.find(token);
    by_token[absl::StrCat(token)] = {
        {"requests", count},
        {"throttled", throttled == stats.throttled_by_token.end() ? 0 : throttled->second}};
  }
  body["by_token"] = std::move(by_token);
  return JsonReply(200, body);
}

}  // namespace sandbox
}  // namespace followgate
