// The durable memory of every follow invitation followgate sent.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_
#define FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "followgate/v1/invitations.pb.h"
#include "server/base/clock.h"
#include "server/invitations/claim_decision.h"
#include "server/storage/sqlite_db.h"

namespace followgate {

// What a caller asked for: one batch, identified by its request_id.
struct BatchSpec {
  std::string request_id;
  std::string company_id;
  std::string account_id;
  std::vector<std::string> profile_urns;
  bool retry_unknown = false;
};

// Profiles claimed for one upstream request.
struct Chunk {
  int64_t id = 0;
  std::vector<std::pair<int, std::string>> profiles;  // (index, urn)
  // When it was claimed: the invitation time recorded for its profiles.
  absl::Time claimed_at;
};

// The result of ClaimChunk: what was decided without sending, and the chunk
// to send (none when nothing is pending any more).
struct Claim {
  std::vector<DecidedProfile> decided;
  std::optional<Chunk> chunk;
};

// The ledger's record for one (company, profile).
struct InvitationRecord {
  std::string company_id;
  std::string profile_urn;
  v1::InvitationOutcome outcome = v1::INVITATION_OUTCOME_UNSPECIFIED;
  std::string reason;
  absl::Time invite_time = absl::InfinitePast();
  std::string request_id;
};

// SQLite under the state dir, in WAL mode with synchronous commits. Per
// (company, profile) it keeps the latest state; a profile that is SENT,
// ALREADY_INVITED, in flight or UNKNOWN is never claimed again for that
// company (UNKNOWN only with retry_unknown). Per batch it keeps every
// profile's outcome, so a repeated request replays and continues it.
//
// A chunk is recorded as in flight, durably, before its request may leave
// (ClaimChunk commits first); its outcome is recorded when the answer
// arrives. Open() turns chunks left in flight by a crash into UNKNOWN.
//
// Thread-safe (one connection behind a mutex). Errors: RESOURCE_EXHAUSTED
// (STORAGE_FULL) when the disk is full, INTERNAL for other storage
// failures, UNAVAILABLE when the file cannot be opened, ALREADY_EXISTS from
// StartBatch, NOT_FOUND from lookups.
class InvitationLedger {
 public:
  static absl::StatusOr<std::unique_ptr<InvitationLedger>> Open(const std::string& path,
                                                                Clock* clock);

  bool BatchExists(const std::string& request_id);

  // Records a new batch, deciding repeats within it (SKIPPED_DUPLICATE), or
  // finds the existing one. ALREADY_EXISTS when `request_id` names a batch
  // with other content.
  absl::Status StartBatch(const BatchSpec& spec);

  // Every decided profile of the batch, by index.
  absl::StatusOr<std::vector<DecidedProfile>> DecidedProfiles(const std::string& request_id);

  // Walks the batch's pending profiles in order: decides those that must not
  // be sent (ALREADY_INVITED, UNKNOWN, or SKIPPED_NO_CREDIT once `budget` is
  // spent; the rules are DecideClaim's, in claim_decision.h) and claims up to
  // `max_profiles` others as one chunk in flight, all in one transaction.
  // NOT_FOUND when there is no such batch.
  absl::StatusOr<Claim> ClaimChunk(const std::string& request_id, int max_profiles,
                                   bool retry_unknown,
                                   const std::optional<CreditBudget>& budget);

  // The chunk's answer arrived: records each profile's outcome.
  absl::Status CompleteChunk(int64_t chunk_id, const std::vector<DecidedProfile>& outcomes);
  // The chunk's request may have arrived but its answer is lost.
  absl::Status MarkChunkUnknown(int64_t chunk_id, const std::string& reason);
  // The chunk's request never left: its profiles are pending again.
  absl::Status ReleaseChunk(int64_t chunk_id);

  // Upstream requests made for the batch so far (chunks that may have left).
  absl::StatusOr<int> UpstreamRequests(const std::string& request_id);
  absl::StatusOr<int> PendingProfiles(const std::string& request_id);
  // Credits the company spent in [month_start, month_end): invitations sent,
  // in flight or unknown.
  absl::StatusOr<int64_t> CreditsUsed(const std::string& company_id, absl::Time month_start,
                                      absl::Time month_end);

  absl::StatusOr<InvitationRecord> GetInvitation(const std::string& company_id,
                                                 const std::string& profile_urn);

  // The id stored in the ledger's file when a state dir took it as its
  // ledger (see StateDir::BindLedger); "" before.
  absl::StatusOr<std::string> LedgerId();
  absl::Status SetLedgerId(const std::string& ledger_id);
  // Batches recorded so far.
  absl::StatusOr<int64_t> BatchCount();

 private:
  InvitationLedger(std::unique_ptr<SqliteDb> db, Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  absl::Status CreateSchemaAndRecover();
  absl::StatusOr<int64_t> CreditsUsedLocked(const std::string& company_id, absl::Time start,
                                            absl::Time end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  Clock* const clock_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_
