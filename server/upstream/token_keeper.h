// Keeps a LinkedIn credential's access token alive (OAuth refresh) and its
// expiry in sight (gauges, warnings).
#ifndef FOLLOWGATE_SERVER_UPSTREAM_TOKEN_KEEPER_H_
#define FOLLOWGATE_SERVER_UPSTREAM_TOKEN_KEEPER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/secret_source.h"
#include "server/base/state_blob.h"
#include "server/upstream/linkedin_oauth.h"

namespace followgate {

struct TokenKeeperOptions {
  std::string credential;
  // The refresh token as the operator gave it (its file's content); empty:
  // no refresh, the expiry is asked of LinkedIn's introspection instead.
  std::string refresh_token;
  // Where refreshed tokens are kept (a 0600 file, or the fleet's database),
  // so that a restart goes on with them, and the replicas of a fleet share
  // them; null: in memory only (every start refreshes once).
  std::shared_ptr<StateBlob> state;
  // Refresh when the access token has less than this left, or less than
  // half its lifetime, whichever is shorter.
  absl::Duration refresh_margin = absl::Hours(7 * 24);
  // Warn (a WARNING log, once a day) when a token expires sooner than this.
  absl::Duration warn_before = absl::Hours(7 * 24);
  // After a failed refresh or introspection: the first wait, doubled up to
  // the maximum (or the failure's retry delay when longer).
  absl::Duration retry_backoff = absl::Minutes(1);
  absl::Duration max_retry_backoff = absl::Hours(1);
  // How often an introspected token is asked about again.
  absl::Duration introspect_every = absl::Hours(24);
};

// One thread per credential. With a refresh token it renews the access
// token (`access_token`'s secret, through SecretSource::Set) before it
// expires: at once when its expiry is unknown (a first start), then when
// less than the margin is left; a refresh LinkedIn refuses keeps the token
// in use and is tried again with backoff. It keeps the tokens in `state`
// with a digest of the refresh token it began from: a restart goes on with
// the stored tokens unless the operator has given another refresh token
// since; and when a refresh is due it first looks there, so that of the
// replicas sharing the state, one refreshes and the others take its tokens. Without a refresh token
// it asks introspection when the token expires, daily and whenever the
// token changes. Either way it sets
// followgate_linkedin_token_expiry_timestamp_seconds{credential} (and the
// refresh token's, ..._refresh_token_expiry_...) and logs a
// "linkedin_token_expiring" warning once a day from `warn_before` on.
//
// `oauth` and `clock` are not owned and must outlive this.
class TokenKeeper {
 public:
  TokenKeeper(const LinkedInOAuthClient* oauth, std::shared_ptr<SecretSource> access_token,
              Clock* clock, TokenKeeperOptions options);
  ~TokenKeeper();  // Stops the thread.
  TokenKeeper(const TokenKeeper&) = delete;
  TokenKeeper& operator=(const TokenKeeper&) = delete;

  // Reads the state file (a file that cannot be parsed is an error naming
  // it) and starts the thread.
  absl::Status Start();

  // LinkedIn rejected the token in use (401): refresh (or introspect) now,
  // rather than when it is due.
  void Rejected();

  // When the access token expires; InfiniteFuture while unknown.
  absl::Time expires_at() const;
  absl::Time refresh_token_expires_at() const;
  // Refreshes (or introspections) that succeeded, and that failed.
  int64_t successes() const;
  int64_t failures() const;
  // Blocks until successes() + failures() reaches `rounds` (for tests).
  void AwaitRounds(int64_t rounds) const;

 private:
  void Run();
  // One refresh or introspection; the time of the next.
  absl::Time Step();
  absl::Status Refresh();
  // When the token in use is due for a refresh.
  absl::Time RefreshDue() const;
  absl::Status Introspect();
  // Takes the stored tokens when they began from the same refresh token and
  // expire later than the ones in use; whether it did.
  absl::StatusOr<bool> AdoptStored();
  absl::Status SaveState() const;
  void Warn() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const LinkedInOAuthClient* const oauth_;
  const std::shared_ptr<SecretSource> access_token_;
  Clock* const clock_;
  const TokenKeeperOptions options_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool rejected_ ABSL_GUARDED_BY(mu_) = false;  // See Rejected().
  std::string refresh_token_ ABSL_GUARDED_BY(mu_);
  absl::Time obtained_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time refresh_token_expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t introspected_generation_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time warned_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t successes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_TOKEN_KEEPER_H_
