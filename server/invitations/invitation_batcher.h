// Runs invitation batches: chunks of at most 50 through ConnectSafely, every
// step recorded in the ledger before and after it leaves.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_INVITATION_BATCHER_H_
#define FOLLOWGATE_SERVER_INVITATIONS_INVITATION_BATCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "followgate/v1/invitations.pb.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/upstream/connectsafely_client.h"
#include "server/invitations/invitation_ledger.h"

namespace followgate {

struct InvitationBatcherOptions {
  // Largest batch accepted.
  int max_batch_profiles = 10000;
  // ConnectSafely requests in flight at once, over the whole process.
  int concurrency = 1;
  // Retries of one chunk after a 429 or a request that never left.
  int max_retries = 5;
  // Wait before such a retry when ConnectSafely names no delay.
  absl::Duration backoff = absl::Seconds(5);
  // The longest wait before a retry (ConnectSafely's Retry-After or the
  // backoff). A longer one, or one beyond the call's deadline, ends the call
  // at once with RESOURCE_EXHAUSTED and a RetryInfo of the wait; the chunk's
  // profiles stay unsent, and the same request continues with them.
  absl::Duration max_wait = absl::Minutes(10);
  // Invitations per company page per UTC calendar month; 0: no budget.
  int64_t monthly_credits = 0;
  // Per-company budgets overriding `monthly_credits` (0 there: none left).
  absl::flat_hash_map<std::string, int64_t> company_credits;
  // When the batch's profiles left are in flight under another claim (a
  // replica serving the same request_id at once, or one that died with them
  // in flight), how often the call looks again whether they have outcomes,
  // asking the ledger first to recover chunks whose claimer is gone.
  absl::Duration in_flight_poll_interval = absl::Seconds(1);
};

// Thread-safe. `ledger`, `client` and `clock` are not owned and must outlive
// this. One call at a time works on a given request_id in this process; a
// second call for the same batch waits for the first to let go, then replays
// and continues. Calls for one batch on several processes sharing a ledger
// (replicas) join: each sends only the chunks it claimed (a claim is the
// ledger's, so no profile is sent twice), then waits for the profiles in
// flight under the others' claims, and emits every profile's outcome, its
// own and the others', exactly once.
class InvitationBatcher {
 public:
  using Emit = std::function<absl::Status(v1::SendInvitationsResponse)>;

  InvitationBatcher(InvitationLedger* ledger, const ConnectSafelyClient* client, Clock* clock,
                    InvitationBatcherOptions options);

  // Runs (or replays and continues) the batch, calling `emit` for each step
  // (see InvitationsService.SendInvitations). Returns OK when every profile
  // has its outcome; otherwise the error that stopped the batch (the
  // outcomes emitted so far stand, and repeating the request continues).
  // Cancellation stops the batch between ConnectSafely requests; a request
  // already sent is waited for and recorded. `deadline` is the call's (see
  // InvitationBatcherOptions::max_wait); waiting for profiles in flight
  // elsewhere ends at it with DEADLINE_EXCEEDED (and a RetryInfo), the
  // outcomes so far emitted, and at cancellation with CANCELLED. A ledger
  // that cannot be reached ends the call with its UNAVAILABLE (and retry
  // delay); nothing is sent whose claim it did not record. `requests_sent`, when not null,
  // receives the number of requests this call sent to ConnectSafely, whatever
  // their answer (a 401 or a 429 counts; a connection never opened does not).
  absl::Status Run(const v1::SendInvitationsRequest& request, const CancellationToken& cancel,
                   const Emit& emit, absl::Time deadline = absl::InfiniteFuture(),
                   int64_t* requests_sent = nullptr);

  absl::StatusOr<v1::Invitation> GetInvitation(const v1::GetInvitationRequest& request);

 private:
  class BatchRun;

  // The budget of `company_id` for the current month, if it has one.
  std::optional<CreditBudget> BudgetFor(const std::string& company_id) const;
  // Claims the right to work on `request_id` in this process.
  absl::Status LockBatch(const std::string& request_id, const CancellationToken& cancel);
  void UnlockBatch(const std::string& request_id);
  // Bounds ConnectSafely requests in flight over the process.
  void AcquireSendSlot();
  void ReleaseSendSlot();

  InvitationLedger* const ledger_;
  const ConnectSafelyClient* const client_;
  Clock* const clock_;
  const InvitationBatcherOptions options_;

  absl::Mutex mu_;
  std::set<std::string> busy_batches_ ABSL_GUARDED_BY(mu_);
  int sends_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_INVITATION_BATCHER_H_
