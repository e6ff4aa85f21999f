// The durable memory of every follow invitation followgate sent. The
// interface the batcher and the state dir use; a backend implements it
// (SqliteInvitationLedger, in sqlite_invitation_ledger.h, under the state
// dir) and only the code that builds the server picks one.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_
#define FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "followgate/v1/invitations.pb.h"
#include "server/invitations/claim_decision.h"

namespace followgate {

// The reason every backend records for a chunk that was in flight when the
// process that claimed it stopped.
inline constexpr char kStoppedInFlightReason[] =
    "followgate stopped while the request was in flight; it may have been sent";

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

// Per (company, profile) the ledger keeps the latest state; a profile that
// is SENT, ALREADY_INVITED, in flight or UNKNOWN is never claimed again for
// that company (UNKNOWN only with retry_unknown). Per batch it keeps every
// profile's outcome, so a repeated request replays and continues it.
//
// What every implementation keeps:
//  - The claim rule is DecideClaim's (claim_decision.h): a backend reads
//    what it records for each pending profile, asks DecideClaim, and writes
//    the answer; it decides nothing of its own.
//  - ClaimChunk decides, claims and records the chunk as in flight durably,
//    all or nothing, before it returns: its request may leave only then.
//    It is atomic against every other call on the same records, so two
//    claims never both take one (company, profile).
//  - A chunk is in flight until CompleteChunk, MarkChunkUnknown or
//    ReleaseChunk. One left in flight when the process that claimed it
//    stopped may have been sent: it becomes UNKNOWN (kStoppedInFlightReason),
//    still counted
//    as an upstream request and as credits, once the ledger is opened again.
//  - Times are kept to the millisecond; Chunk::claimed_at is the claim time
//    as it reads back, and every profile of the chunk records it.
//  - What a call recorded is read back by every later call, also after the
//    ledger is opened again.
//
// Thread-safe. Errors: RESOURCE_EXHAUSTED (reason STORAGE_FULL) when the
// storage is full, INTERNAL for other storage failures, ALREADY_EXISTS from
// StartBatch, NOT_FOUND from lookups.
class InvitationLedger {
 public:
  InvitationLedger() = default;
  virtual ~InvitationLedger() = default;
  InvitationLedger(const InvitationLedger&) = delete;
  InvitationLedger& operator=(const InvitationLedger&) = delete;

  // Whether a batch `request_id` is recorded (false also when the storage
  // cannot answer).
  virtual bool BatchExists(const std::string& request_id) = 0;

  // Records a new batch, deciding repeats within it (SKIPPED_DUPLICATE), or
  // finds the existing one. ALREADY_EXISTS (reason REQUEST_ID_REUSED) when
  // `request_id` names a batch with other content.
  virtual absl::Status StartBatch(const BatchSpec& spec) = 0;

  // Every decided profile of the batch, by index.
  virtual absl::StatusOr<std::vector<DecidedProfile>> DecidedProfiles(
      const std::string& request_id) = 0;

  // Walks the batch's pending profiles in order: decides those that must not
  // be sent (ALREADY_INVITED, UNKNOWN, or SKIPPED_NO_CREDIT once `budget` is
  // spent; the rules are DecideClaim's, in claim_decision.h) and claims up to
  // `max_profiles` others as one chunk in flight, all in one transaction.
  // NOT_FOUND when there is no such batch.
  virtual absl::StatusOr<Claim> ClaimChunk(const std::string& request_id, int max_profiles,
                                           bool retry_unknown,
                                           const std::optional<CreditBudget>& budget) = 0;

  // The chunk's answer arrived: records each profile's outcome.
  virtual absl::Status CompleteChunk(int64_t chunk_id,
                                     const std::vector<DecidedProfile>& outcomes) = 0;
  // The chunk's request may have arrived but its answer is lost.
  virtual absl::Status MarkChunkUnknown(int64_t chunk_id, const std::string& reason) = 0;
  // The chunk's request never left: its profiles are pending again, and each
  // (company, profile) has the outcome it had before the claim again (or is
  // forgotten when it had none).
  virtual absl::Status ReleaseChunk(int64_t chunk_id) = 0;

  // Turns UNKNOWN (kStoppedInFlightReason) the chunks in flight whose
  // claimer is gone: in a ledger that replicas share, those whose owner's
  // lease expired. A caller that waits for profiles another claimer holds in
  // flight calls it before it looks again. How many chunks it turned; a
  // ledger of one process has none to turn (its own are recovered when it is
  // opened again) and returns 0.
  virtual absl::StatusOr<int64_t> RecoverExpiredChunks() { return 0; }

  // Upstream requests made for the batch so far (chunks that may have left).
  virtual absl::StatusOr<int> UpstreamRequests(const std::string& request_id) = 0;
  // Profiles of the batch without an outcome yet: pending or in flight.
  virtual absl::StatusOr<int> PendingProfiles(const std::string& request_id) = 0;
  // Credits the company spent in [month_start, month_end): invitations sent,
  // in flight or unknown.
  virtual absl::StatusOr<int64_t> CreditsUsed(const std::string& company_id,
                                              absl::Time month_start, absl::Time month_end) = 0;

  // What the ledger records for (company, profile); one in flight reads as
  // UNKNOWN. NOT_FOUND when followgate never claimed it for the company.
  virtual absl::StatusOr<InvitationRecord> GetInvitation(const std::string& company_id,
                                                         const std::string& profile_urn) = 0;

  // The identity StateDir::BindLedger checks. The id is stored with the
  // ledger's records when a state dir took it as its ledger; "" before. It
  // goes with the records: a ledger deleted, emptied or replaced by another
  // reads "" or the other's id. The last id set wins.
  virtual absl::StatusOr<std::string> LedgerId() = 0;
  virtual absl::Status SetLedgerId(const std::string& ledger_id) = 0;
  // Batches recorded so far.
  virtual absl::StatusOr<int64_t> BatchCount() = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_INVITATION_LEDGER_H_
