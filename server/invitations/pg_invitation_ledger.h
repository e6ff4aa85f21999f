// The invitation ledger of a fleet: PostgreSQL tables that every replica
// shares, so that nobody is invited twice by any of them.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_PG_INVITATION_LEDGER_H_
#define FOLLOWGATE_SERVER_INVITATIONS_PG_INVITATION_LEDGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/invitations/claim_decision.h"
#include "server/invitations/invitation_ledger.h"
#include "server/storage/pg_db.h"

namespace followgate {

struct PgInvitationLedgerOptions {
  // A libpq connection URL, and a password that overrides the URL's.
  std::string url;
  std::string password;
  // The replica's name, unique in the fleet and the same across its
  // restarts (e.g. its pod or host name). Chunks it claims are recorded
  // with it as their owner.
  std::string owner;
  // How long an owner's in-flight chunks are taken for alive after it last
  // claimed, recorded or renewed; after that, any replica that opens the
  // ledger turns them UNKNOWN. It must exceed the longest upstream request
  // plus the clock skew between replicas.
  absl::Duration lease = absl::Minutes(5);
  // How often a background thread (started by Open, stopped by the
  // destructor) renews this replica's leases (RenewLease) and turns UNKNOWN
  // the chunks of replicas whose lease expired (RecoverExpiredChunks), so a
  // dead replica's chunks need not wait for it to come back. Zero: no
  // thread. Set it well below `lease` (a quarter of it, say).
  absl::Duration maintenance_interval = absl::ZeroDuration();
};

// InvitationLedger in PostgreSQL: batches, their profiles, chunks, the
// per-company invitations and the ledger id in tables named invitation_*
// (component "invitations" of server/storage/pg_migrations.h, migrated at
// Open, so replicas may start at once). Times are milliseconds of the
// injected clock.
//
// Fleet decisions:
//  - Each claim is one READ COMMITTED transaction that first takes a
//    transaction advisory lock on its company: claims for one company run
//    one after another whichever replica makes them, so two never take one
//    (company, profile). StartBatch likewise locks its request_id. A
//    transaction that PostgreSQL rolls back as a conflict (ABORTED,
//    DATABASE_CONFLICT) is run again, up to kPgLedgerAttempts times.
//  - Every in-flight chunk records its owner and a lease (alive_until).
//    The owner renews the lease of the in-flight chunks it handed out and
//    has not ended (by CompleteChunk, MarkChunkUnknown or ReleaseChunk, even
//    one that failed) whenever it claims or records an answer, on
//    RenewLease and in its maintenance thread. A chunk whose recording
//    failed (the database away) so expires and becomes UNKNOWN, instead of
//    staying in flight while the replica lives. The contract's "the
//    ledger is opened again" is Open: it turns UNKNOWN the in-flight
//    chunks whose owner is this replica (opening under one's own name means
//    the process that held it is gone) and those whose lease expired, never
//    another live replica's. RecoverExpiredChunks does the latter at any time.
//  - An answer recorded after its chunk was recovered as UNKNOWN replaces
//    that UNKNOWN: the answer is better knowledge than the guess.
//
// Thread-safe (one connection behind a mutex; use one ledger per replica).
// Credits (CreditsUsed, and the budget ClaimChunk applies) count every
// replica's invitations: the per-company rows are the fleet's.
// Errors: those of InvitationLedger, plus UNAVAILABLE (reason
// DATABASE_UNAVAILABLE, with a retry delay) while the database cannot be
// reached; a claim that fails so at its commit may have been recorded, and
// is then recovered as UNKNOWN like any abandoned chunk.
class PgInvitationLedger final : public InvitationLedger {
 public:
  // Connects, creates the tables if missing, recovers abandoned chunks and
  // starts the maintenance thread (when options.maintenance_interval > 0).
  // INVALID_ARGUMENT for an empty owner, a lease that is not positive or a
  // negative maintenance_interval.
  // `clock` is not owned and must outlive the ledger.
  static absl::StatusOr<std::unique_ptr<PgInvitationLedger>> Open(
      const PgInvitationLedgerOptions& options, Clock* clock);

  // Extends the lease of the in-flight chunks this ledger handed out and
  // that were not ended yet to now + lease.
  absl::Status RenewLease();
  // Turns UNKNOWN the in-flight chunks of any owner whose lease expired
  // (Open also does it for this replica's own from before it was opened);
  // how many chunks it turned.
  absl::StatusOr<int64_t> RecoverExpiredChunks() override;

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

  // Stops the maintenance thread. In-flight chunks stay in flight: they
  // become UNKNOWN when this owner opens the ledger again, or at any replica
  // once their lease expired.
  ~PgInvitationLedger() override;

 private:
  PgInvitationLedger(std::unique_ptr<PgDb> db, PgInvitationLedgerOptions options, Clock* clock)
      : db_(std::move(db)), options_(std::move(options)), clock_(clock) {}

  // The maintenance thread's loop, until stop_ is cancelled.
  void Maintain();

  absl::Status CreateSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Turns UNKNOWN the in-flight chunks whose lease expired, and this
  // replica's own when `including_own`.
  absl::StatusOr<int64_t> RecoverChunks(bool including_own) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` in a transaction, again while it ends ABORTED.
  absl::Status InTransactionWithRetries(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inside a transaction: extends this replica's leases to now + lease.
  absl::Status RenewLeaseLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> CreditsUsedLocked(const std::string& company_id, absl::Time start,
                                            absl::Time end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<PgDb> db_ ABSL_GUARDED_BY(mu_);
  // Chunks ClaimChunk handed out that no Complete/MarkUnknown/Release has
  // ended yet: the only ones whose lease this ledger renews.
  absl::flat_hash_set<int64_t> live_chunks_ ABSL_GUARDED_BY(mu_);
  const PgInvitationLedgerOptions options_;
  Clock* const clock_;
  CancellationToken stop_;
  std::thread maintenance_;
};

// How many times a transaction rolled back as a conflict is run in all.
inline constexpr int kPgLedgerAttempts = 5;

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_PG_INVITATION_LEDGER_H_
