#include "server/invitations/pg_invitation_ledger.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/status_macros.h"
#include "server/invitations/batch_start.h"
#include "server/storage/pg_migrations.h"

namespace followgate {
namespace {

// invitation_batch_profiles.outcome and invitations.state hold
// v1::InvitationOutcome values, plus these two.
constexpr int kPending = 0;
constexpr int kInFlight = 100;

// Transaction advisory locks are taken with two int4 keys: the first says
// what the second names, so they stay apart from other users of the
// database's single-bigint locks.
constexpr int kCompanyLockClass = 71101;  // Second key hashtext(company_id).
constexpr int kBatchLockClass = 71102;    // Second key hashtext(request_id).

// Version 1 keeps IF NOT EXISTS: databases made before schema_migrations
// already hold these tables, and only gain the record.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS invitation_batches(
  request_id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  retry_unknown BOOLEAN NOT NULL,
  profile_count INTEGER NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS invitation_batch_profiles(
  request_id TEXT NOT NULL REFERENCES invitation_batches(request_id),
  idx INTEGER NOT NULL,
  profile_urn TEXT NOT NULL,
  outcome INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  chunk_id BIGINT,
  invite_time BIGINT,
  invited_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(request_id, idx));
CREATE INDEX IF NOT EXISTS invitation_batch_profiles_chunk
  ON invitation_batch_profiles(chunk_id);
CREATE INDEX IF NOT EXISTS invitation_batch_profiles_outcome
  ON invitation_batch_profiles(request_id, outcome, idx);
CREATE TABLE IF NOT EXISTS invitation_chunks(
  chunk_id BIGSERIAL PRIMARY KEY,
  request_id TEXT NOT NULL,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  alive_until BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT);
CREATE INDEX IF NOT EXISTS invitation_chunks_request ON invitation_chunks(request_id);
CREATE INDEX IF NOT EXISTS invitation_chunks_in_flight
  ON invitation_chunks(owner, alive_until) WHERE state = 'IN_FLIGHT';
CREATE TABLE IF NOT EXISTS invitations(
  company_id TEXT NOT NULL,
  profile_urn TEXT NOT NULL,
  state INTEGER NOT NULL,
  prior_state INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL,
  chunk_id BIGINT,
  invite_time BIGINT NOT NULL,
  PRIMARY KEY(company_id, profile_urn));
CREATE INDEX IF NOT EXISTS invitations_chunk ON invitations(chunk_id);
CREATE INDEX IF NOT EXISTS invitations_time ON invitations(company_id, invite_time);
CREATE TABLE IF NOT EXISTS invitation_ledger_identity(
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  ledger_id TEXT NOT NULL);
)sql";


int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

// The first row's first column as an integer; 0 when there is none.
absl::StatusOr<int64_t> Count(absl::StatusOr<PgResult> result) {
  if (!result.ok()) return result.status();
  return result->rows.empty() ? 0 : result->rows[0].Int(0);
}

// The company a batch invites to; NOT_FOUND when there is no such batch.
absl::StatusOr<std::string> CompanyOfBatch(PgDb& db, const std::string& request_id) {
  FG_ASSIGN_OR_RETURN(
      PgResult batch,
      db.Query("SELECT company_id FROM invitation_batches WHERE request_id=$1", {request_id}));
  if (batch.rows.empty()) return absl::NotFoundError(absl::StrCat("no batch ", request_id));
  return batch.rows[0].Text(0);
}

// What one claim decided, before it is written.
struct ClaimPlan {
  std::vector<DecidedProfile> decided;
  std::vector<std::pair<int, std::string>> claimed;  // (index, urn)
};

// Reads the batch's pending profiles in index order, 256 at a time, each with
// what the ledger records for it at `company`, and asks DecideClaim about each
// until `max_profiles` are claimed (at least one) or none is left. The
// profiles after a full chunk are not looked at: they stay pending.
absl::StatusOr<ClaimPlan> PlanClaim(PgDb& db, const std::string& request_id,
                                    const std::string& company, const ClaimRules& rules,
                                    int max_profiles) {
  ClaimPlan plan;
  int last_index = -1;
  for (;;) {
    FG_ASSIGN_OR_RETURN(
        PgResult page,
        db.Query("SELECT p.idx, p.profile_urn, i.state, i.request_id, i.invite_time "
                 "FROM invitation_batch_profiles p LEFT JOIN invitations i "
                 "ON i.company_id=$2 AND i.profile_urn=p.profile_urn "
                 "WHERE p.request_id=$1 AND p.outcome=$3 AND p.idx>$4 ORDER BY p.idx LIMIT 256",
                 {request_id, company, kPending, last_index}));
    if (page.rows.empty()) return plan;
    for (const PgRow& row : page.rows) {
      PendingProfile profile;
      profile.index = static_cast<int>(row.Int(0));
      profile.profile_urn = row.Text(1);
      last_index = profile.index;
      if (!row.IsNull(2)) {
        RecordedInvitation recorded;
        const int state = static_cast<int>(row.Int(2));
        recorded.in_flight = state == kInFlight;
        if (!recorded.in_flight) recorded.outcome = static_cast<v1::InvitationOutcome>(state);
        recorded.request_id = row.Text(3);
        recorded.invite_time = FromMillis(row.Int(4));
        profile.recorded = std::move(recorded);
      }
      ClaimDecision decision =
          DecideClaim(profile, rules, static_cast<int64_t>(plan.claimed.size()));
      if (!decision.claim) {
        plan.decided.push_back(std::move(decision.decided));
        continue;
      }
      plan.claimed.emplace_back(profile.index, std::move(profile.profile_urn));
      if (static_cast<int>(plan.claimed.size()) >= max_profiles) return plan;
    }
  }
}

// Records the outcomes of profiles decided without sending.
absl::Status RecordDecided(PgDb& db, const std::string& request_id,
                           const std::vector<DecidedProfile>& decided) {
  for (const DecidedProfile& d : decided) {
    const PgParam invite_time = d.invite_time == absl::InfinitePast()
                                    ? PgParam(std::nullopt)
                                    : PgParam(Millis(d.invite_time));
    FG_RETURN_IF_ERROR(
        db.Query("UPDATE invitation_batch_profiles SET outcome=$1, reason=$2, invite_time=$3, "
                 "invited_by=$4 WHERE request_id=$5 AND idx=$6",
                 {static_cast<int>(d.outcome), d.reason, invite_time, d.invited_by_request_id,
                  request_id, d.index})
            .status());
  }
  return absl::OkStatus();
}

// Records `claimed` as one chunk in flight since `now`, owned by `owner`
// until `alive_until`, in the batch and in the company's invitations
// (keeping each row's earlier state as prior_state, for ReleaseChunk).
absl::StatusOr<Chunk> RecordChunk(PgDb& db, const std::string& request_id,
                                  const std::string& company,
                                  const std::vector<std::pair<int, std::string>>& claimed,
                                  absl::Time now, const std::string& owner,
                                  absl::Time alive_until) {
  FG_ASSIGN_OR_RETURN(
      PgResult chunk,
      db.Query("INSERT INTO invitation_chunks(request_id, state, owner, alive_until, started_at) "
               "VALUES ($1, 'IN_FLIGHT', $2, $3, $4) RETURNING chunk_id",
               {request_id, owner, Millis(alive_until), Millis(now)}));
  Chunk out;
  out.id = chunk.rows.empty() ? 0 : chunk.rows[0].Int(0);
  // The time as stored: what the profiles' invite_time will read back.
  out.claimed_at = FromMillis(Millis(now));
  for (const auto& [index, urn] : claimed) {
    FG_RETURN_IF_ERROR(db.Query("UPDATE invitation_batch_profiles SET outcome=$1, chunk_id=$2, "
                                "invite_time=$3 WHERE request_id=$4 AND idx=$5",
                                {kInFlight, out.id, Millis(now), request_id, index})
                           .status());
    FG_RETURN_IF_ERROR(
        db.Query("INSERT INTO invitations AS i(company_id, profile_urn, state, prior_state, "
                 "reason, request_id, chunk_id, invite_time) VALUES "
                 "($1, $2, $3, NULL, '', $4, $5, $6) ON CONFLICT(company_id, profile_urn) "
                 "DO UPDATE SET prior_state=i.state, state=excluded.state, reason='', "
                 "request_id=excluded.request_id, chunk_id=excluded.chunk_id, "
                 "invite_time=excluded.invite_time",
                 {company, urn, kInFlight, request_id, out.id, Millis(now)})
            .status());
    out.profiles.emplace_back(index, urn);
  }
  return out;
}

// Takes the transaction advisory lock (`lock_class`, hashtext(`name`)),
// waiting for whoever holds it.
absl::Status LockName(PgDb& db, int lock_class, const std::string& name) {
  return db.Query("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))", {lock_class, name})
      .status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgInvitationLedger>> PgInvitationLedger::Open(
    const PgInvitationLedgerOptions& options, Clock* clock) {
  if (options.owner.empty()) {
    return absl::InvalidArgumentError(
        "the invitation ledger needs an owner name for this replica (unique in the fleet, "
        "the same across restarts)");
  }
  if (options.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the invitation ledger's lease must be positive, not ",
                     absl::FormatDuration(options.lease)));
  }
  if (options.maintenance_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the invitation ledger's maintenance_interval must not be negative, not ",
                     absl::FormatDuration(options.maintenance_interval)));
  }
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(options.url, options.password));
  std::unique_ptr<PgInvitationLedger> ledger(new PgInvitationLedger(std::move(db), options, clock));
  {
    absl::MutexLock lock(&ledger->mu_);
    FG_RETURN_IF_ERROR(ledger->CreateSchema());
    FG_RETURN_IF_ERROR(ledger->RecoverChunks(/*including_own=*/true).status());
  }
  if (options.maintenance_interval > absl::ZeroDuration()) {
    PgInvitationLedger* raw = ledger.get();
    ledger->maintenance_ = std::thread([raw] { raw->Maintain(); });
  }
  return ledger;
}

PgInvitationLedger::~PgInvitationLedger() {
  stop_.Cancel();
  if (maintenance_.joinable()) maintenance_.join();
}

void PgInvitationLedger::Maintain() {
  while (SleepFor(clock_, options_.maintenance_interval, stop_).ok()) {
    // A failure (the database away) is tried again at the next round; the
    // calls that need the database report it to their callers.
    if (absl::Status renewed = RenewLease(); !renewed.ok()) {
      LogInfo(absl::StrCat("ledger maintenance: renewing leases failed: ", StatusForLog(renewed)));
    }
    if (absl::Status recovered = RecoverExpiredChunks().status(); !recovered.ok()) {
      LogInfo(absl::StrCat("ledger maintenance: recovering expired chunks failed: ",
                           StatusForLog(recovered)));
    }
  }
}

absl::Status PgInvitationLedger::CreateSchema() {
  // Replicas starting together take turns (ApplyMigrations locks the
  // component); a conflict is run again, as every ledger transaction is.
  absl::Status status;
  for (int attempt = 1; attempt <= kPgLedgerAttempts; ++attempt) {
    status = ApplyMigrations(*db_, "invitations", {{1, kSchemaV1}});
    if (status.code() != absl::StatusCode::kAborted || ErrorReason(status) != "DATABASE_CONFLICT") {
      return status;
    }
  }
  return status;
}

absl::Status PgInvitationLedger::InTransactionWithRetries(
    const std::function<absl::Status()>& body) {
  absl::Status status;
  for (int attempt = 1; attempt <= kPgLedgerAttempts; ++attempt) {
    status = db_->InTransaction(body);
    if (status.code() != absl::StatusCode::kAborted || ErrorReason(status) != "DATABASE_CONFLICT") {
      return status;
    }
  }
  return status;
}

absl::Status PgInvitationLedger::RenewLeaseLocked(absl::Time now) {
  if (live_chunks_.empty()) return absl::OkStatus();
  // Only the chunks this ledger handed out and still waits for: one whose
  // caller gave up on it (its answer could not be recorded) or whose claim
  // failed at commit expires like a dead replica's.
  const std::string ids = absl::StrCat("{", absl::StrJoin(live_chunks_, ","), "}");
  return db_
      ->Query(
          "UPDATE invitation_chunks SET alive_until=$1 WHERE chunk_id=ANY($3::bigint[]) AND "
          "owner=$2 AND state='IN_FLIGHT' AND alive_until<$1",
          {Millis(now + options_.lease), options_.owner, ids})
      .status();
}

absl::Status PgInvitationLedger::RenewLease() {
  absl::MutexLock lock(&mu_);
  return RenewLeaseLocked(clock_->Now());
}

absl::StatusOr<int64_t> PgInvitationLedger::RecoverExpiredChunks() {
  absl::MutexLock lock(&mu_);
  return RecoverChunks(/*including_own=*/false);
}

absl::StatusOr<int64_t> PgInvitationLedger::RecoverChunks(bool including_own) {
  const int64_t now = Millis(clock_->Now());
  int64_t chunks = 0;
  int64_t profiles = 0;
  // One statement: the chunks' new state and their profiles' change
  // together, whatever another replica does meanwhile.
  FG_RETURN_IF_ERROR(InTransactionWithRetries([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(
        PgResult result,
        db_->Query(
            "WITH abandoned AS ("
            "  UPDATE invitation_chunks SET state='UNKNOWN', finished_at=$1 "
            "  WHERE state='IN_FLIGHT' AND (($6 AND owner=$2) OR alive_until<=$1) "
            "  RETURNING chunk_id), "
            "profiles AS ("
            "  UPDATE invitation_batch_profiles SET outcome=$3, reason=$4, invited_by=request_id "
            "  WHERE chunk_id IN (SELECT chunk_id FROM abandoned) AND outcome=$5 RETURNING 1), "
            "invitations AS ("
            "  UPDATE invitations SET state=$3, reason=$4, prior_state=NULL "
            "  WHERE chunk_id IN (SELECT chunk_id FROM abandoned) AND state=$5 RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM abandoned), (SELECT COUNT(*) FROM profiles), "
            "(SELECT COUNT(*) FROM invitations)",
            {now, options_.owner, static_cast<int>(v1::INVITATION_OUTCOME_UNKNOWN), kStoppedInFlightReason,
             kInFlight, including_own}));
    if (!result.rows.empty()) {
      chunks = result.rows[0].Int(0);
      profiles = result.rows[0].Int(1);
    }
    return absl::OkStatus();
  }));
  if (chunks > 0) {
    LogInfo(absl::StrCat("ledger: ", profiles, " profiles in ", chunks,
                         " chunks were in flight when their replica stopped; now UNKNOWN"));
  }
  return chunks;
}

bool PgInvitationLedger::BatchExists(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> result =
      db_->Query("SELECT 1 FROM invitation_batches WHERE request_id=$1", {request_id});
  return result.ok() && !result->rows.empty();
}

absl::Status PgInvitationLedger::StartBatch(const BatchSpec& spec) {
  absl::MutexLock lock(&mu_);
  const int64_t now = Millis(clock_->Now());
  return InTransactionWithRetries([&]() -> absl::Status {
    // Two replicas starting the same request_id at once: the second waits
    // and then finds the batch.
    FG_RETURN_IF_ERROR(LockName(*db_, kBatchLockClass, spec.request_id));
    FG_ASSIGN_OR_RETURN(PgResult batch,
                        db_->Query("SELECT company_id, account_id, retry_unknown FROM "
                                   "invitation_batches WHERE request_id=$1",
                                   {spec.request_id}));
    if (!batch.rows.empty()) {
      StoredBatch stored;
      stored.company_id = batch.rows[0].Text(0);
      stored.account_id = batch.rows[0].Text(1);
      stored.retry_unknown = batch.rows[0].Bool(2);
      FG_ASSIGN_OR_RETURN(PgResult urns,
                          db_->Query("SELECT profile_urn FROM invitation_batch_profiles "
                                     "WHERE request_id=$1 ORDER BY idx",
                                     {spec.request_id}));
      for (const PgRow& row : urns.rows) stored.profile_urns.push_back(row.Text(0));
      return CheckRepeatedBatch(stored, spec);
    }
    FG_RETURN_IF_ERROR(
        db_->Query("INSERT INTO invitation_batches VALUES ($1, $2, $3, $4, $5, $6)",
                   {spec.request_id, spec.company_id, spec.account_id, spec.retry_unknown,
                    static_cast<int64_t>(spec.profile_urns.size()), now})
            .status());
    for (const NewBatchProfile& profile : NewBatchProfiles(spec)) {
      FG_RETURN_IF_ERROR(
          db_->Query("INSERT INTO invitation_batch_profiles(request_id, idx, profile_urn, "
                     "outcome, reason) VALUES ($1, $2, $3, $4, $5)",
                     {spec.request_id, profile.index, profile.profile_urn,
                      profile.duplicate ? static_cast<int>(v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE)
                                        : kPending,
                      profile.reason})
              .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DecidedProfile>> PgInvitationLedger::DecidedProfiles(
    const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(PgResult result,
                      db_->Query("SELECT idx, profile_urn, outcome, reason, invite_time, "
                                 "invited_by FROM invitation_batch_profiles WHERE "
                                 "request_id=$1 AND outcome NOT IN ($2, $3) ORDER BY idx",
                                 {request_id, kPending, kInFlight}));
  std::vector<DecidedProfile> decided;
  decided.reserve(result.rows.size());
  for (const PgRow& row : result.rows) {
    DecidedProfile profile;
    profile.index = static_cast<int>(row.Int(0));
    profile.profile_urn = row.Text(1);
    profile.outcome = static_cast<v1::InvitationOutcome>(row.Int(2));
    profile.reason = row.Text(3);
    if (!row.IsNull(4)) profile.invite_time = FromMillis(row.Int(4));
    profile.invited_by_request_id = row.Text(5);
    decided.push_back(std::move(profile));
  }
  return decided;
}

absl::StatusOr<int64_t> PgInvitationLedger::CreditsUsedLocked(const std::string& company_id,
                                                              absl::Time start, absl::Time end) {
  return Count(db_->Query(
      "SELECT COUNT(*) FROM invitations WHERE company_id=$1 "
      "AND state IN ($2, $3, $4) AND invite_time >= $5 AND invite_time < $6",
      {company_id, static_cast<int>(v1::INVITATION_OUTCOME_SENT),
       static_cast<int>(v1::INVITATION_OUTCOME_UNKNOWN), kInFlight, Millis(start), Millis(end)}));
}

absl::StatusOr<int64_t> PgInvitationLedger::CreditsUsed(const std::string& company_id,
                                                        absl::Time month_start,
                                                        absl::Time month_end) {
  absl::MutexLock lock(&mu_);
  return CreditsUsedLocked(company_id, month_start, month_end);
}

absl::StatusOr<Claim> PgInvitationLedger::ClaimChunk(const std::string& request_id,
                                                     int max_profiles, bool retry_unknown,
                                                     const std::optional<CreditBudget>& budget) {
  absl::MutexLock lock(&mu_);
  Claim claim;
  const absl::Time now = clock_->Now();
  absl::Status status = InTransactionWithRetries([&]() -> absl::Status {
    claim = Claim();
    FG_ASSIGN_OR_RETURN(const std::string company, CompanyOfBatch(*db_, request_id));
    // Claims for one company, from any replica, run one after another: each
    // reads what the one before it recorded.
    FG_RETURN_IF_ERROR(LockName(*db_, kCompanyLockClass, company));
    ClaimRules rules;
    rules.retry_unknown = retry_unknown;
    rules.budget = budget;
    if (budget.has_value()) {
      FG_ASSIGN_OR_RETURN(rules.credits_used,
                          CreditsUsedLocked(company, budget->month_start, budget->month_end));
    }
    FG_ASSIGN_OR_RETURN(ClaimPlan plan, PlanClaim(*db_, request_id, company, rules, max_profiles));
    FG_RETURN_IF_ERROR(RecordDecided(*db_, request_id, plan.decided));
    claim.decided = std::move(plan.decided);
    FG_RETURN_IF_ERROR(RenewLeaseLocked(now));
    if (plan.claimed.empty()) return absl::OkStatus();
    FG_ASSIGN_OR_RETURN(claim.chunk, RecordChunk(*db_, request_id, company, plan.claimed, now,
                                                 options_.owner, now + options_.lease));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (claim.chunk.has_value()) live_chunks_.insert(claim.chunk->id);
  return claim;
}

absl::Status PgInvitationLedger::CompleteChunk(int64_t chunk_id,
                                               const std::vector<DecidedProfile>& outcomes) {
  absl::MutexLock lock(&mu_);
  // Whatever comes of it, the caller is done with the chunk.
  live_chunks_.erase(chunk_id);
  const absl::Time now = clock_->Now();
  return InTransactionWithRetries([&]() -> absl::Status {
    for (const DecidedProfile& d : outcomes) {
      FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_batch_profiles SET outcome=$1, "
                                    "reason=$2, invited_by=$5 WHERE chunk_id=$3 AND idx=$4",
                                    {static_cast<int>(d.outcome), d.reason, chunk_id, d.index,
                                     d.invited_by_request_id})
                             .status());
      // In flight, or UNKNOWN because the chunk was taken for abandoned.
      FG_RETURN_IF_ERROR(db_->Query("UPDATE invitations SET state=$1, reason=$2, prior_state=NULL "
                                    "WHERE chunk_id=$3 AND profile_urn=$4 AND state IN ($5, $6)",
                                    {static_cast<int>(d.outcome), d.reason, chunk_id, d.profile_urn,
                                     kInFlight, static_cast<int>(v1::INVITATION_OUTCOME_UNKNOWN)})
                             .status());
    }
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_chunks SET state='DONE', finished_at=$1 "
                                  "WHERE chunk_id=$2",
                                  {Millis(now), chunk_id})
                           .status());
    return RenewLeaseLocked(now);
  });
}

absl::Status PgInvitationLedger::MarkChunkUnknown(int64_t chunk_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  // Whatever comes of it, the caller is done with the chunk.
  live_chunks_.erase(chunk_id);
  const absl::Time now = clock_->Now();
  const int unknown = v1::INVITATION_OUTCOME_UNKNOWN;
  return InTransactionWithRetries([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_batch_profiles SET outcome=$1, reason=$2, "
                                  "invited_by=request_id WHERE chunk_id=$3 AND outcome=$4",
                                  {unknown, reason, chunk_id, kInFlight})
                           .status());
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitations SET state=$1, reason=$2, prior_state=NULL "
                                  "WHERE chunk_id=$3 AND state=$4",
                                  {unknown, reason, chunk_id, kInFlight})
                           .status());
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_chunks SET state='UNKNOWN', "
                                  "finished_at=$1 WHERE chunk_id=$2",
                                  {Millis(now), chunk_id})
                           .status());
    return RenewLeaseLocked(now);
  });
}

absl::Status PgInvitationLedger::ReleaseChunk(int64_t chunk_id) {
  absl::MutexLock lock(&mu_);
  // Whatever comes of it, the caller is done with the chunk.
  live_chunks_.erase(chunk_id);
  const absl::Time now = clock_->Now();
  return InTransactionWithRetries([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_batch_profiles SET outcome=$1, "
                                  "chunk_id=NULL, invite_time=NULL WHERE chunk_id=$2 AND "
                                  "outcome=$3",
                                  {kPending, chunk_id, kInFlight})
                           .status());
    FG_RETURN_IF_ERROR(db_->Query("DELETE FROM invitations WHERE chunk_id=$1 AND state=$2 "
                                  "AND prior_state IS NULL",
                                  {chunk_id, kInFlight})
                           .status());
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitations SET state=prior_state, prior_state=NULL "
                                  "WHERE chunk_id=$1 AND state=$2",
                                  {chunk_id, kInFlight})
                           .status());
    FG_RETURN_IF_ERROR(db_->Query("UPDATE invitation_chunks SET state='RELEASED', "
                                  "finished_at=$1 WHERE chunk_id=$2",
                                  {Millis(now), chunk_id})
                           .status());
    return RenewLeaseLocked(now);
  });
}

absl::StatusOr<std::string> PgInvitationLedger::LedgerId() {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(PgResult result,
                      db_->Query("SELECT ledger_id FROM invitation_ledger_identity"));
  return result.rows.empty() ? std::string() : result.rows[0].Text(0);
}

absl::Status PgInvitationLedger::SetLedgerId(const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  return db_
      ->Query(
          "INSERT INTO invitation_ledger_identity(singleton, ledger_id) VALUES (1, $1) "
          "ON CONFLICT(singleton) DO UPDATE SET ledger_id=excluded.ledger_id",
          {ledger_id})
      .status();
}

absl::StatusOr<int64_t> PgInvitationLedger::BatchCount() {
  absl::MutexLock lock(&mu_);
  return Count(db_->Query("SELECT COUNT(*) FROM invitation_batches"));
}

absl::StatusOr<int> PgInvitationLedger::UpstreamRequests(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(int64_t count,
                      Count(db_->Query("SELECT COUNT(*) FROM invitation_chunks WHERE "
                                       "request_id=$1 AND state!='RELEASED'",
                                       {request_id})));
  return static_cast<int>(count);
}

absl::StatusOr<int> PgInvitationLedger::PendingProfiles(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(int64_t count,
                      Count(db_->Query("SELECT COUNT(*) FROM invitation_batch_profiles WHERE "
                                       "request_id=$1 AND outcome IN ($2, $3)",
                                       {request_id, kPending, kInFlight})));
  return static_cast<int>(count);
}

absl::StatusOr<InvitationRecord> PgInvitationLedger::GetInvitation(const std::string& company_id,
                                                                   const std::string& profile_urn) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(PgResult result,
                      db_->Query("SELECT state, reason, invite_time, request_id FROM "
                                 "invitations WHERE company_id=$1 AND profile_urn=$2",
                                 {company_id, profile_urn}));
  if (result.rows.empty()) {
    return absl::NotFoundError(
        absl::StrCat("followgate never invited ", profile_urn, " to follow company ", company_id));
  }
  const PgRow& row = result.rows[0];
  InvitationRecord record;
  record.company_id = company_id;
  record.profile_urn = profile_urn;
  const int state = static_cast<int>(row.Int(0));
  // A row in flight is reported as UNKNOWN: its answer has not arrived.
  record.outcome = state == kInFlight ? v1::INVITATION_OUTCOME_UNKNOWN
                                      : static_cast<v1::InvitationOutcome>(state);
  record.reason = state == kInFlight ? "the request is in flight" : row.Text(1);
  record.invite_time = FromMillis(row.Int(2));
  record.request_id = row.Text(3);
  return record;
}

}  // namespace followgate
