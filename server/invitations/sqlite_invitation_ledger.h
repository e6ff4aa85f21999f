// The invitation ledger of one process: a SQLite file under its state dir.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_SQLITE_INVITATION_LEDGER_H_
#define FOLLOWGATE_SERVER_INVITATIONS_SQLITE_INVITATION_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/invitations/claim_decision.h"
#include "server/invitations/invitation_ledger.h"
#include "server/storage/sqlite_db.h"

namespace followgate {

// InvitationLedger in SQLite, in WAL mode with synchronous commits: batches,
// their profiles, chunks and the per-company invitations in one file, the
// ledger id in it too. Its file has one writer (the state dir's lock), so
// the mutex makes every call atomic against the others, and Open() turns
// chunks left in flight by a crash into UNKNOWN.
//
// Thread-safe (one connection behind a mutex). Errors: those of
// InvitationLedger; Open is UNAVAILABLE when the file cannot be opened.
class SqliteInvitationLedger final : public InvitationLedger {
 public:
  // Opens (creating if missing) the ledger in the file `path`. `clock` is
  // not owned and must outlive the ledger.
  static absl::StatusOr<std::unique_ptr<SqliteInvitationLedger>> Open(const std::string& path,
                                                                      Clock* clock);

  bool BatchExists(const std::string& request_id) override;
  absl::Status StartBatch(const BatchSpec& spec) override;
  absl::StatusOr<std::vector<DecidedProfile>> DecidedProfiles(
      const std::string& request_id) override;
  absl::StatusOr<Claim> ClaimChunk(const std::string& request_id, int max_profiles,
                                   bool retry_unknown,
                                   const std::optional<CreditBudget>& budget) override;
  absl::Status CompleteChunk(int64_t chunk_id,
                             const std::vector<DecidedProfile>& outcomes) override;
  absl::Status MarkChunkUnknown(int64_t chunk_id, const std::string& reason) override;
  absl::Status ReleaseChunk(int64_t chunk_id) override;
  absl::StatusOr<int> UpstreamRequests(const std::string& request_id) override;
  absl::StatusOr<int> PendingProfiles(const std::string& request_id) override;
  absl::StatusOr<int64_t> CreditsUsed(const std::string& company_id, absl::Time month_start,
                                      absl::Time month_end) override;
  absl::StatusOr<InvitationRecord> GetInvitation(const std::string& company_id,
                                                 const std::string& profile_urn) override;
  absl::StatusOr<std::string> LedgerId() override;
  absl::Status SetLedgerId(const std::string& ledger_id) override;
  absl::StatusOr<int64_t> BatchCount() override;

 private:
  SqliteInvitationLedger(std::unique_ptr<SqliteDb> db, Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  absl::Status CreateSchemaAndRecover();
  absl::StatusOr<int64_t> CreditsUsedLocked(const std::string& company_id, absl::Time start,
                                            absl::Time end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  Clock* const clock_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_SQLITE_INVITATION_LEDGER_H_
