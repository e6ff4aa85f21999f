// LinkedIn's OAuth 2.0 endpoints: renewing an access token with a refresh
// token, and asking when a token expires (introspection).
#ifndef FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_OAUTH_H_
#define FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_OAUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/secret_source.h"
#include "server/upstream/http_client.h"

namespace followgate {

struct LinkedInOAuthOptions {
  // Where /oauth/v2/accessToken and /oauth/v2/introspectToken live.
  std::string base_url = "https://www.linkedin.com";
  std::string client_id;
  // The application's client secret (never logged).
  std::shared_ptr<SecretSource> client_secret;
  absl::Duration request_timeout = absl::Seconds(30);
  // The credential's name, for logs and errors.
  std::string credential;
};

// What a refresh grants.
struct OAuthTokens {
  std::string access_token;
  absl::Time expires_at = absl::InfiniteFuture();
  // LinkedIn answers the refresh token again (its lifetime does not grow);
  // empty when it did not.
  std::string refresh_token;
  absl::Time refresh_token_expires_at = absl::InfiniteFuture();  // Unknown: infinite.
};

// Thread-safe; `http` and `clock` are not owned. Every secret it receives
// is registered with RegisterSecret before anything can print it.
class LinkedInOAuthClient {
 public:
  LinkedInOAuthClient(HttpClient* http, Clock* clock, LinkedInOAuthOptions options);

  // POST /oauth/v2/accessToken, grant_type=refresh_token. Errors:
  // UNAUTHENTICATED (LINKEDIN_REFRESH_REJECTED) when LinkedIn refuses the
  // refresh token or the client (400 invalid_grant, 401 invalid_client: a
  // person must consent again, or the secret is wrong); UNAVAILABLE with a
  // retry delay for 429, 5xx and transport failures; INTERNAL for an answer
  // without an access token. Messages name the credential, never a secret.
  absl::StatusOr<OAuthTokens> Refresh(const std::string& refresh_token) const;

  // POST /oauth/v2/introspectToken: when `token` expires. NOT_FOUND when
  // LinkedIn says it is not active (revoked or expired); errors otherwise
  // as Refresh's.
  absl::StatusOr<absl::Time> Introspect(const std::string& token) const;

 private:
  absl::StatusOr<std::string> Post(const std::string& path, const std::string& form,
                                   const char* what) const;

  HttpClient* const http_;
  Clock* const clock_;
  const LinkedInOAuthOptions options_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_OAUTH_H_
