// An in-process emulation of LinkedIn's DMA Organizational Page Follows API
// on 127.0.0.1, for tests and credential-free local runs.
//
// Mounted on one HttpServer through an HttpRouter:
//   /rest/       LinkedIn's API gateway: bearer-token check (401), its own
//                rate limit (429), scripted faults, then LinkedInFollowsApi.
//                Every request here is recorded and counted in the stats.
//   /_sandbox/   admin, no auth, not rate limited, not counted:
//                POST /_sandbox/faults  JSON array of faults (sandbox_fault.h)
//                GET  /_sandbox/stats   {"requests","throttled","by_status",
//                                        "connection_resets","faults_pending"}
//                POST /_sandbox/reset   clears stats, requests, faults and
//                                       the rate limiter
// Other upstream emulations are mounted on router() (sandbox_upstreams.h
// mounts ConnectSafely there).
//
// Order of checks for an API request: token, rate limit, next fault, then
// the API itself. Every request that passes the token check and is not
// throttled moves the rate limiter's clock, whatever it is answered;
// throttled answers do not.
//
// Thread-safe. Start() errors: InvalidArgument for bad options, Unavailable
// when the port cannot be bound.

#ifndef FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_SANDBOX_H_
#define FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_SANDBOX_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/sandbox/http_message.h"
#include "server/sandbox/http_router.h"
#include "server/sandbox/http_server.h"
#include "server/sandbox/linkedin_dataset.h"
#include "server/sandbox/linkedin_follows_api.h"
#include "server/sandbox/sandbox_fault.h"

namespace followgate {
namespace sandbox {

struct LinkedInSandboxOptions {
  // TCP port on 127.0.0.1; 0 picks a free one.
  int port = 0;
  // The only bearer token accepted. Never logged.
  std::string access_token = "sandbox-token";
  // Further bearer tokens accepted (several credentials). Each token has a
  // rate limit of its own (min_interval); stats count requests per token,
  // by index: 0 is access_token, 1 the first of these.
  std::vector<std::string> more_tokens;
  // Every access token (these and the ones OAuth issues) expires this long
  // after the sandbox started or issued it; then it answers 401
  // EXPIRED_ACCESS_TOKEN. Infinite: never.
  absl::Duration token_lifetime = absl::InfiniteDuration();
  // LinkedIn's OAuth endpoints, when `oauth_client_id` is set:
  //   POST /oauth/v2/accessToken   grant_type=refresh_token with
  //                                `refresh_token` and the client's id and
  //                                secret: a new access token (accepted from
  //                                then on, with the stats index after the
  //                                others), expires_in `token_lifetime`;
  //   POST /oauth/v2/introspectToken  {"active", "expires_at"} of a token.
  std::string oauth_client_id;
  std::string oauth_client_secret;
  std::string refresh_token;
  absl::Duration refresh_token_lifetime = absl::Hours(365 * 24);
  // Accepted LinkedIn-Version range, YYYYMM. Older (or newer, when
  // newest_version is set) answers 426; a missing header answers 400.
  std::string oldest_version = "202411";
  std::string newest_version;  // Empty: no upper bound.
  // Minimum spacing of one token's API requests; one arriving sooner after
  // the last accepted one with the same token answers 429. Zero disables
  // the limit.
  absl::Duration min_interval = absl::ZeroDuration();
  // The followee pages the sandbox knows.
  std::vector<SeededPage> pages = {{1000, 25000, 1500}};
  // When N > 0, every Nth page of a result sequence is short but still has
  // a next cursor (see LinkedInFollowsApiOptions).
  int masked_every = 0;
  // An organizational page that follows `prolific_followee_count` generated
  // pages, for multi-page follower-finder results.
  int64_t prolific_follower_id = 2001;
  int64_t prolific_followee_count = 2500;
  // Requests() keeps at most this many (the most recent).
  size_t max_recorded_requests = 10000;
};

struct RecordedRequest {
  std::string method;
  std::string target;  // Raw request target, e.g. "/rest/...?q=followee&...".
  std::vector<HttpHeader> headers;
  absl::Time arrival_time;
  int status = 0;  // Status answered; 0 for a connection reset.
};

struct LinkedInSandboxStats {
  int64_t requests = 0;              // API requests, whatever their outcome.
  int64_t throttled = 0;             // 429s from the rate limiter (not faults).
  int64_t connection_resets = 0;     // Requests answered with a reset fault.
  int64_t token_refreshes = 0;       // Access tokens issued by OAuth refresh.
  int64_t introspections = 0;
  std::map<int, int64_t> by_status;  // Statuses sent, including faults.
  // By token index (see LinkedInSandboxOptions::more_tokens): requests that
  // passed the token check, and those throttled.
  std::map<int, int64_t> requests_by_token;
  std::map<int, int64_t> throttled_by_token;
  int64_t faults_pending = 0;
};

class LinkedInSandbox {
 public:
  static absl::StatusOr<std::unique_ptr<LinkedInSandbox>> Start(
      const LinkedInSandboxOptions& options);

  LinkedInSandbox(const LinkedInSandbox&) = delete;
  LinkedInSandbox& operator=(const LinkedInSandbox&) = delete;

  // Stops the server first, so no handler runs during destruction.
  ~LinkedInSandbox();

  int port() const;
  // "http://127.0.0.1:PORT".
  std::string base_url() const;

  LinkedInSandboxStats Stats() const;
  std::vector<RecordedRequest> Requests() const;

  // Appends to the fault queue; each later API request consumes one.
  void AddFaults(const std::vector<SandboxFault>& faults);

  // Clears the stats and the recorded requests.
  void ResetStats();
  // Clears the stats, recorded requests, pending faults and rate limiter.
  void Reset();

  // For mounting further emulations (e.g. ConnectSafely) on this server.
  HttpRouter& router() { return router_; }

 private:
  // What the gateway decided for one request before the API runs.
  struct GatewayDecision {
    absl::optional<HttpReply> reply;     // Set: answer this, skip the API.
    absl::optional<SandboxFault> fault;  // Applied to the API's reply.
    bool throttled = false;
    int token = -1;  // The token's index, once checked.
  };

  LinkedInSandbox(const LinkedInSandboxOptions& options, FollowDataset dataset,
                  LinkedInFollowsApiOptions api_options);

  HttpReply HandleApi(const HttpRequest& request);
  GatewayDecision Admit(const HttpRequest& request);
  // A 401 reply, or nothing with `*token` set to the token's index.
  absl::optional<HttpReply> CheckToken(const HttpRequest& request, int* token) const;
  void Record(const HttpRequest& request, const HttpReply& reply, bool throttled, int token);

  HttpReply HandleAdmin(const HttpRequest& request);
  // /oauth/v2/ (linkedin_oauth_emulation.cc).
  HttpReply HandleOAuth(const HttpRequest& request);
  HttpReply OAuthRefresh(const std::vector<std::pair<std::string, std::string>>& form,
                         absl::Time now);
  HttpReply OAuthIntrospect(const std::vector<std::pair<std::string, std::string>>& form);
  HttpReply AdminAddFaults(const HttpRequest& request);
  HttpReply AdminStats() const;

  struct AcceptedToken {
    std::string token;
    absl::Time expires_at = absl::InfiniteFuture();
  };
  const LinkedInSandboxOptions options_;
  const absl::Duration min_interval_;
  const size_t max_recorded_requests_;
  const LinkedInFollowsApi api_;
  HttpRouter router_;

  mutable absl::Mutex mu_;
  std::map<int, absl::Time> last_accepted_ ABSL_GUARDED_BY(mu_);  // By token.
  // access_token, more_tokens, then those OAuth issued (their stats index).
  std::vector<AcceptedToken> tokens_ ABSL_GUARDED_BY(mu_);
  std::deque<SandboxFault> faults_ ABSL_GUARDED_BY(mu_);
  LinkedInSandboxStats stats_ ABSL_GUARDED_BY(mu_);
  std::deque<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);

  // Last member: destroyed (and so stopped) first.
  std::unique_ptr<HttpServer> server_;
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_SANDBOX_H_
