#include "server/upstream/linkedin_oauth.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/base/redaction.h"
#include "server/upstream/linkedin_client.h"

namespace followgate {
namespace {

// A wait before another try after LinkedIn's OAuth endpoint failed.
constexpr absl::Duration kRetryDelay = absl::Minutes(1);

// An OAuth error body's "error" (RFC 6749), or "".
std::string OAuthError(const std::string& body) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  if (!answer.is_object()) return "";
  auto it = answer.find("error");
  return it != answer.end() && it->is_string() ? it->get<std::string>() : "";
}

// The longest lifetime or time believed; beyond, it counts as unknown.
constexpr double kMaxSeconds = 100.0 * 366 * 24 * 3600;

// A positive whole number of seconds up to kMaxSeconds (an upstream's text:
// any JSON number, huge or fractional, may come), else nullopt.
std::optional<int64_t> Seconds(const nlohmann::json& answer, const char* key) {
  auto it = answer.find(key);
  if (it == answer.end() || !it->is_number()) return std::nullopt;
  const double seconds = it->get<double>();
  if (!(seconds > 0) || seconds > kMaxSeconds) return std::nullopt;
  return static_cast<int64_t>(seconds);
}

// `key` of `answer` seconds from `now`, or infinity when absent or unusable.
absl::Time ExpiryOf(const nlohmann::json& answer, const char* key, absl::Time now) {
  const std::optional<int64_t> seconds = Seconds(answer, key);
  return seconds.has_value() ? now + absl::Seconds(*seconds) : absl::InfiniteFuture();
}

}  // namespace

LinkedInOAuthClient::LinkedInOAuthClient(HttpClient* http, Clock* clock,
                                         LinkedInOAuthOptions options)
    : http_(http), clock_(clock), options_(std::move(options)) {}

absl::StatusOr<std::string> LinkedInOAuthClient::Post(const std::string& path,
                                                      const std::string& form,
                                                      const char* what) const {
  HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + path;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = form;
  request.timeout = options_.request_timeout;
  request.upstream = "linkedin_oauth";
  request.log_fields = {{"credential", options_.credential}, {"call", std::string(what)}};
  const std::string failed = absl::StrCat("LinkedIn credential \"", options_.credential,
                                          "\": the OAuth ", what, " failed: ");
  absl::StatusOr<HttpResponse> response = http_->Send(request);
  if (!response.ok()) {
    return WithRetryDelay(absl::UnavailableError(absl::StrCat(
                              failed, Redact(std::string(response.status().message())))),
                          kRetryDelay);
  }
  const int code = response->status_code;
  if (code >= 200 && code <= 299) return std::move(response->body);
  const std::string error = OAuthError(response->body);
  if (code == 400 || code == 401) {
    return WithErrorInfo(
        absl::UnauthenticatedError(absl::StrCat(
            failed, "LinkedIn answered HTTP ", code, error.empty() ? "" : " (" + Redact(error) + ")",
            code == 401 || error == "invalid_client"
                ? ": the client id or secret is not accepted"
                : ": the refresh token is invalid, expired or revoked; a page admin must "
                  "authorize the application again")),
        "LINKEDIN_REFRESH_REJECTED", {{"credential", options_.credential}});
  }
  return WithRetryDelay(
      absl::UnavailableError(absl::StrCat(failed, "LinkedIn answered HTTP ", code)),
      kRetryDelay);
}

absl::StatusOr<OAuthTokens> LinkedInOAuthClient::Refresh(
    const std::string& refresh_token) const {
  const std::string secret = options_.client_secret->Current().secret;
  const std::string form = absl::StrCat(
      "grant_type=refresh_token&refresh_token=", PercentEncode(refresh_token),
      "&client_id=", PercentEncode(options_.client_id), "&client_secret=", PercentEncode(secret));
  absl::StatusOr<std::string> body = Post("/oauth/v2/accessToken", form, "refresh");
  if (!body.ok()) return body.status();
  const nlohmann::json answer = nlohmann::json::parse(*body, nullptr, false);
  auto access = answer.is_object() ? answer.find("access_token") : answer.end();
  if (!answer.is_object() || access == answer.end() || !access->is_string() ||
      access->get<std::string>().empty()) {
    return absl::InternalError(absl::StrCat("LinkedIn credential \"", options_.credential,
                                            "\": the OAuth refresh answer holds no access_token"));
  }
  const absl::Time now = clock_->Now();
  OAuthTokens tokens;
  tokens.access_token = access->get<std::string>();
  RegisterSecret(tokens.access_token);
  tokens.expires_at = ExpiryOf(answer, "expires_in", now);
  if (auto it = answer.find("refresh_token"); it != answer.end() && it->is_string()) {
    tokens.refresh_token = it->get<std::string>();
    RegisterSecret(tokens.refresh_token);
  }
  tokens.refresh_token_expires_at = ExpiryOf(answer, "refresh_token_expires_in", now);
  return tokens;
}

absl::StatusOr<absl::Time> LinkedInOAuthClient::Introspect(const std::string& token) const {
  const std::string secret = options_.client_secret->Current().secret;
  const std::string form =
      absl::StrCat("client_id=", PercentEncode(options_.client_id),
                   "&client_secret=", PercentEncode(secret), "&token=", PercentEncode(token));
  absl::StatusOr<std::string> body = Post("/oauth/v2/introspectToken", form, "introspection");
  if (!body.ok()) return body.status();
  const nlohmann::json answer = nlohmann::json::parse(*body, nullptr, false);
  if (!answer.is_object()) {
    return absl::InternalError(absl::StrCat("LinkedIn credential \"", options_.credential,
                                            "\": the introspection answer is not an object"));
  }
  auto active = answer.find("active");
  if (active == answer.end() || !active->is_boolean() || !active->get<bool>()) {
    return absl::NotFoundError(absl::StrCat("LinkedIn credential \"", options_.credential,
                                            "\": LinkedIn says the token is not active"));
  }
  // Unix seconds; one that is not a usable time is "unknown".
  const std::optional<int64_t> expires = Seconds(answer, "expires_at");
  return expires.has_value() ? absl::FromUnixSeconds(*expires) : absl::InfiniteFuture();
}

}  // namespace followgate
