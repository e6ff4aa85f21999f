// The server's Prometheus metrics.
#ifndef FOLLOWGATE_SERVER_BASE_METRICS_H_
#define FOLLOWGATE_SERVER_BASE_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate {

// One process-wide registry that every part records into (recording costs a
// few atomic operations and works whether or not it is exposed). The server
// exposes it over HTTP when started with --metrics_port. Label values pass
// through Redact() (server/base/redaction.h). Thread-safe.
//
//   followgate_rpcs_total{method,code,caller}           finished calls (caller:
//                                                       its name when callers are
//                                                       authenticated, else
//                                                       "unauthenticated")
//   followgate_rpc_duration_seconds{method}             their durations
//   followgate_upstream_requests_total{upstream,outcome} LinkedIn/ConnectSafely
//   followgate_upstream_request_duration_seconds{upstream}
//   followgate_budget_wait_seconds                      time waited for LinkedIn's budget
//   followgate_budget_queue_length                      requests waiting for it
//   followgate_budget_interval_seconds                  LinkedIn's interval in force
//   followgate_upstream_throttled_total{upstream}       429 answers
//   followgate_linkedin_slots_total{use}                LinkedIn budget slots: caller,
//                                                       watch (--watch, idle slots
//                                                       only) and idle (unused; counted
//                                                       at the next grant)
//   followgate_linkedin_credential_rejected{credential} 1 while LinkedIn rejects it
//   followgate_linkedin_token_expiry_timestamp_seconds{credential}
//   followgate_linkedin_refresh_token_expiry_timestamp_seconds{credential}
//                                                       when they expire, where known
//   followgate_snapshot_opens_total{result}             hit (fresh), continued, new
//   followgate_invitations_total{outcome}               profile outcomes
class Metrics {
 public:
  static Metrics& Get();

  void RecordRpc(absl::string_view method, absl::string_view code, absl::string_view caller,
                 absl::Duration duration);
  void RecordUpstream(absl::string_view upstream, absl::string_view outcome,
                      absl::Duration duration);
  void RecordBudgetWait(absl::Duration wait);
  void SetBudgetQueueLength(int waiting);
  void SetBudgetInterval(absl::Duration interval);
  void RecordThrottled(absl::string_view upstream);
  // `slots` slots of LinkedIn's budget went to `use` (caller, watch, idle).
  void RecordLinkedInSlots(absl::string_view use, int64_t slots = 1);
  void SetLinkedInCredentialRejected(absl::string_view credential, bool rejected);
  // When the credential's access token and refresh token expire
  // (InfiniteFuture: unknown, not exported).
  void SetLinkedInTokenExpiry(absl::string_view credential, absl::Time access,
                              absl::Time refresh);
  void RecordSnapshotOpen(absl::string_view result);
  void RecordInvitation(absl::string_view outcome);

  // Serves /metrics on `address` ("0.0.0.0:9464"; port 0 picks one); returns
  // the bound port. Call at most once.
  absl::StatusOr<int> Expose(const std::string& address);

 private:
  Metrics();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_METRICS_H_
