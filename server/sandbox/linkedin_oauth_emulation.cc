// LinkedIn's OAuth endpoints in the sandbox (see LinkedInSandboxOptions):
// refresh and introspection, form-encoded as LinkedIn documents them.
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/http_query.h"
#include "server/sandbox/linkedin_sandbox.h"

namespace followgate {
namespace sandbox {
namespace {

using Json = nlohmann::json;
using Form = std::vector<std::pair<std::string, std::string>>;

HttpReply OAuthReply(int status, const Json& body) {
  return HttpReply::Json(status, body.dump());
}

// RFC 6749's error answer.
HttpReply OAuthErrorReply(int status, const char* error, const char* description) {
  return OAuthReply(status, {{"error", error}, {"error_description", description}});
}

std::string FormValue(const Form& form, const std::string& key) {
  for (const auto& [name, value] : form) {
    if (name == key) return value;
  }
  return "";
}

int64_t Seconds(absl::Duration d) {
  return d == absl::InfiniteDuration() ? 0 : absl::ToInt64Seconds(d);
}

// A fresh token that no test can guess: "sandbox-refreshed-" and 24 hex digits.
std::string NewToken() {
  static std::mt19937_64 random{std::random_device{}()};
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  return absl::StrCat("sandbox-refreshed-", absl::Hex(random(), absl::kZeroPad16),
                      absl::Hex(random() & 0xffffffff, absl::kZeroPad8));
}

}  // namespace

HttpReply LinkedInSandbox::HandleOAuth(const HttpRequest& request) {
  if (options_.oauth_client_id.empty()) {
    return OAuthErrorReply(404, "not_found", "OAuth is not emulated by this sandbox");
  }
  if (request.method != "POST") {
    return OAuthErrorReply(405, "invalid_request", "POST only");
  }
  absl::StatusOr<QueryParams> form = ParseQueryString(request.body);
  if (!form.ok()) return OAuthErrorReply(400, "invalid_request", "malformed form body");
  if (request.path == "/oauth/v2/accessToken") return OAuthRefresh(*form, request.arrival_time);
  if (request.path == "/oauth/v2/introspectToken") return OAuthIntrospect(*form);
  return OAuthErrorReply(404, "not_found", "no such OAuth endpoint");
}

HttpReply LinkedInSandbox::OAuthRefresh(const Form& form, absl::Time now) {
  if (FormValue(form, "grant_type") != "refresh_token") {
    return OAuthErrorReply(400, "unsupported_grant_type", "grant_type must be refresh_token");
  }
  if (FormValue(form, "client_id") != options_.oauth_client_id ||
      FormValue(form, "client_secret") != options_.oauth_client_secret) {
    return OAuthErrorReply(401, "invalid_client", "Client authentication failed");
  }
  if (options_.refresh_token.empty() || FormValue(form, "refresh_token") != options_.refresh_token) {
    return OAuthErrorReply(400, "invalid_grant", "The provided refresh token is invalid");
  }
  const std::string token = NewToken();
  {
    absl::MutexLock lock(&mu_);
    tokens_.push_back(AcceptedToken{token, options_.token_lifetime == absl::InfiniteDuration()
                                               ? absl::InfiniteFuture()
                                               : now + options_.token_lifetime});
    ++stats_.token_refreshes;
  }
  Json body = {{"access_token", token},
               {"refresh_token", options_.refresh_token},
               {"refresh_token_expires_in", Seconds(options_.refresh_token_lifetime)},
               {"scope", "r_dma_admin_pages_content"}};
  if (options_.token_lifetime != absl::InfiniteDuration()) {
    body["expires_in"] = Seconds(options_.token_lifetime);
  }
  return OAuthReply(200, body);
}

HttpReply LinkedInSandbox::OAuthIntrospect(const Form& form) {
  if (FormValue(form, "client_id") != options_.oauth_client_id ||
      FormValue(form, "client_secret") != options_.oauth_client_secret) {
    return OAuthErrorReply(401, "invalid_client", "Client authentication failed");
  }
  const std::string token = FormValue(form, "token");
  absl::MutexLock lock(&mu_);
  ++stats_.introspections;
  for (const AcceptedToken& accepted : tokens_) {
    if (accepted.token != token) continue;
    if (absl::Now() >= accepted.expires_at) break;
    Json body = {{"active", true}, {"status", "active"}, {"client_id", options_.oauth_client_id}};
    if (accepted.expires_at != absl::InfiniteFuture()) {
      body["expires_at"] = absl::ToUnixSeconds(accepted.expires_at);
    }
    return OAuthReply(200, body);
  }
  return OAuthReply(200, {{"active", false}});
}

}  // namespace sandbox
}  // namespace followgate
