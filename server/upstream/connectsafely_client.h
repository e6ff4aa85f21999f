// One request to ConnectSafely's follow-invitations API.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_CONNECTSAFELY_CLIENT_H_
#define FOLLOWGATE_SERVER_UPSTREAM_CONNECTSAFELY_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/secret_source.h"
#include "server/upstream/http_client.h"
#include "server/upstream/upstream_errors.h"

namespace followgate {

struct ConnectSafelyClientOptions {
  std::string base_url = "https://api.connectsafely.ai";
  // Secret: sent only in the Authorization header, never logged or echoed.
  std::string api_key;
  // When set, the key is taken from it for every request instead (a key
  // file rotated while the server runs); `api_key` is then unused.
  std::shared_ptr<SecretSource> api_key_source;
  absl::Duration request_timeout = absl::Seconds(30);
};

// ConnectSafely's answer for one profile.
struct InviteResult {
  std::string profile_urn;
  bool success = false;
  std::string status;  // "SENT" on success; other values are undocumented.
  std::string error;   // Error text, when given.
};

struct InviteAnswer {
  SendDisposition disposition = SendDisposition::kAnswered;
  // OK when answered; otherwise why (see upstream_errors.h).
  absl::Status status;
  std::vector<InviteResult> results;
  // For kThrottled: the wait ConnectSafely asked for (Retry-After or
  // X-RateLimit-Reset); zero when it named none.
  absl::Duration retry_after;
};

// At most this many profiles per request (ConnectSafely's limit).
inline constexpr int kMaxProfilesPerRequest = 50;

// Builds requests, sends them through an HttpClient and classifies the
// answers. No retries, but one: a 401 (nothing was sent) after which the
// key file holds a new key is sent once more with it. Thread-safe; `http` and `clock` are not owned.
class ConnectSafelyClient {
 public:
  ConnectSafelyClient(HttpClient* http, Clock* clock, ConnectSafelyClientOptions options);

  // POST /linkedin/organizations/{company_id}/follow-invitations with up to
  // 50 profiles. Never cancelled half-way: once sent, its answer is waited
  // for (up to the request timeout) so that it can be recorded.
  InviteAnswer SendInvitations(const std::string& company_id, const std::string& account_id,
                               const std::vector<std::string>& profile_urns) const;

  std::string RequestUrl(const std::string& company_id) const;

 private:
  InviteAnswer SendWithKey(const std::string& company_id, const std::string& account_id,
                           const std::vector<std::string>& profile_urns,
                           const std::string& api_key) const;

  HttpClient* const http_;
  Clock* const clock_;
  const ConnectSafelyClientOptions options_;
};

// Parses a 200 body's `results`.
absl::StatusOr<std::vector<InviteResult>> ParseInviteResults(absl::string_view body);

// The wait a 429 asks for: `Retry-After` (seconds or an HTTP date), else
// `X-RateLimit-Reset` (Unix seconds when large, else seconds from now);
// zero when neither parses. Not capped below kMaxHonouredRetryAfter: the
// batcher decides whether to wait that long (--max_upstream_wait).
absl::Duration RetryAfter(const HttpResponse& response, absl::Time now);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_CONNECTSAFELY_CLIENT_H_
