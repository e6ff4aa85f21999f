// Fuzzes the parsers of LinkedIn's OAuth answers (server/upstream/linkedin_oauth.h):
// the first byte picks refresh or introspection and the answer's status
// (200, 400, 401 or 503), the rest is the body. Whatever the body, an answer
// is a token with a future (or unknown) expiry, or an error; never a crash.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/secret_source.h"
#include "server/upstream/http_client.h"
#include "server/upstream/linkedin_oauth.h"

namespace {

class OneAnswer final : public followgate::HttpClient {
 public:
  OneAnswer(int status, std::string body) : status_(status), body_(std::move(body)) {}
  absl::StatusOr<followgate::HttpResponse> Send(const followgate::HttpRequest&) override {
    followgate::HttpResponse response;
    response.status_code = status_;
    response.body = body_;
    return response;
  }

 private:
  const int status_;
  const std::string body_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const int kStatuses[] = {200, 400, 401, 503};
  const int status = kStatuses[data[0] & 3];
  OneAnswer http(status, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  followgate::LinkedInOAuthOptions options;
  options.base_url = "http://oauth";
  options.client_id = "app";
  options.client_secret = followgate::SecretSource::Fixed("client-secret");
  options.credential = "fuzz";
  followgate::LinkedInOAuthClient client(&http, followgate::Clock::Real(), options);
  const absl::Time before = absl::Now();
  if (data[0] & 4) {
    client.Introspect("access-token").IgnoreError();
    return 0;
  }
  absl::StatusOr<followgate::OAuthTokens> tokens = client.Refresh("refresh-token");
  if (tokens.ok() && (tokens->access_token.empty() || tokens->expires_at < before)) std::abort();
  if (!tokens.ok() && status == 200 && tokens.status().code() != absl::StatusCode::kInternal) {
    std::abort();
  }
  return 0;
}
