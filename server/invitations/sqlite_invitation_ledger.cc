#include "server/invitations/sqlite_invitation_ledger.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/base/log.h"
#include "server/base/status_macros.h"
#include "server/invitations/batch_start.h"

namespace followgate {
namespace {

// batch_profiles.outcome and invitations.state hold v1::InvitationOutcome
// values, plus these two.
constexpr int kPending = 0;
constexpr int kInFlight = 100;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS batches(
  request_id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  retry_unknown INTEGER NOT NULL,
  profile_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batch_profiles(
  request_id TEXT NOT NULL REFERENCES batches(request_id),
  idx INTEGER NOT NULL,
  profile_urn TEXT NOT NULL,
  outcome INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  chunk_id INTEGER,
  invite_time INTEGER,
  invited_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(request_id, idx));
CREATE INDEX IF NOT EXISTS batch_profiles_chunk ON batch_profiles(chunk_id);
CREATE INDEX IF NOT EXISTS batch_profiles_outcome ON batch_profiles(request_id, outcome, idx);
CREATE TABLE IF NOT EXISTS chunks(
  chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL,
  state TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER);
CREATE INDEX IF NOT EXISTS chunks_request ON chunks(request_id);
CREATE TABLE IF NOT EXISTS invitations(
  company_id TEXT NOT NULL,
  profile_urn TEXT NOT NULL,
  state INTEGER NOT NULL,
  prior_state INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL,
  chunk_id INTEGER,
  invite_time INTEGER NOT NULL,
  PRIMARY KEY(company_id, profile_urn));
CREATE INDEX IF NOT EXISTS invitations_chunk ON invitations(chunk_id);
CREATE INDEX IF NOT EXISTS invitations_time ON invitations(company_id, invite_time);
CREATE TABLE IF NOT EXISTS ledger_identity(
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  ledger_id TEXT NOT NULL);
)sql";


int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

// The company a batch invites to; NOT_FOUND when there is no such batch.
absl::StatusOr<std::string> CompanyOfBatch(SqliteDb& db, const std::string& request_id) {
  FG_ASSIGN_OR_RETURN(auto batch, db.Prepare("SELECT company_id FROM batches WHERE request_id=?1"));
  batch.Bind(1, request_id);
  FG_ASSIGN_OR_RETURN(bool found, batch.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no batch ", request_id));
  return batch.Text(0);
}

// What the invitations table records for (company, urn), through `stmt`
// ("SELECT state, request_id, invite_time ... WHERE company_id=?1 AND
// profile_urn=?2"); none when followgate never claimed it for the company.
absl::StatusOr<std::optional<RecordedInvitation>> LookUp(SqliteStatement& stmt,
                                                         const std::string& company,
                                                         const std::string& urn) {
  stmt.Reset();
  stmt.Bind(1, company).Bind(2, urn);
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<RecordedInvitation>();
  RecordedInvitation recorded;
  const int state = static_cast<int>(stmt.Int(0));
  recorded.in_flight = state == kInFlight;
  if (!recorded.in_flight) recorded.outcome = static_cast<v1::InvitationOutcome>(state);
  recorded.request_id = stmt.Text(1);
  recorded.invite_time = FromMillis(stmt.Int(2));
  return std::optional<RecordedInvitation>(std::move(recorded));
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
absl::StatusOr<ClaimPlan> PlanClaim(SqliteDb& db, const std::string& request_id,
                                    const std::string& company, const ClaimRules& rules,
                                    int max_profiles) {
  FG_ASSIGN_OR_RETURN(auto pending,
                      db.Prepare("SELECT idx, profile_urn FROM batch_profiles WHERE "
                                 "request_id=?1 AND outcome=?2 AND idx>?3 ORDER BY idx "
                                 "LIMIT 256"));
  FG_ASSIGN_OR_RETURN(auto look_up,
                      db.Prepare("SELECT state, request_id, invite_time FROM invitations "
                                 "WHERE company_id=?1 AND profile_urn=?2"));
  ClaimPlan plan;
  int last_index = -1;
  for (;;) {
    pending.Reset();
    pending.Bind(1, request_id).Bind(2, int64_t{kPending}).Bind(3, int64_t{last_index});
    std::vector<PendingProfile> page;
    for (;;) {
      FG_ASSIGN_OR_RETURN(bool row, pending.Step());
      if (!row) break;
      PendingProfile profile;
      profile.index = static_cast<int>(pending.Int(0));
      profile.profile_urn = pending.Text(1);
      page.push_back(std::move(profile));
    }
    if (page.empty()) return plan;
    for (PendingProfile& profile : page) {
      last_index = profile.index;
      FG_ASSIGN_OR_RETURN(profile.recorded, LookUp(look_up, company, profile.profile_urn));
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
absl::Status RecordDecided(SqliteDb& db, const std::string& request_id,
                           const std::vector<DecidedProfile>& decided) {
  FG_ASSIGN_OR_RETURN(auto decide,
                      db.Prepare("UPDATE batch_profiles SET outcome=?1, reason=?2, "
                                 "invite_time=?3, invited_by=?4 WHERE request_id=?5 "
                                 "AND idx=?6"));
  for (const DecidedProfile& d : decided) {
    decide.Reset();
    decide.Bind(1, int64_t{d.outcome}).Bind(2, d.reason);
    if (d.invite_time == absl::InfinitePast()) {
      decide.BindNull(3);
    } else {
      decide.Bind(3, Millis(d.invite_time));
    }
    FG_RETURN_IF_ERROR(
        decide.Bind(4, d.invited_by_request_id).Bind(5, request_id).Bind(6, int64_t{d.index})
            .Run());
  }
  return absl::OkStatus();
}

// Records `claimed` as one chunk in flight since `now`, in the batch and in
// the company's invitations (keeping each row's earlier state as
// prior_state, for ReleaseChunk).
absl::StatusOr<Chunk> RecordChunk(SqliteDb& db, const std::string& request_id,
                                  const std::string& company,
                                  const std::vector<std::pair<int, std::string>>& claimed,
                                  absl::Time now) {
  FG_ASSIGN_OR_RETURN(auto chunk, db.Prepare("INSERT INTO chunks(request_id, state, started_at) "
                                             "VALUES (?1, 'IN_FLIGHT', ?2)"));
  FG_RETURN_IF_ERROR(chunk.Bind(1, request_id).Bind(2, Millis(now)).Run());
  const int64_t chunk_id = db.LastInsertRowId();
  FG_ASSIGN_OR_RETURN(auto mark,
                      db.Prepare("UPDATE batch_profiles SET outcome=?1, chunk_id=?2, "
                                 "invite_time=?3 WHERE request_id=?4 AND idx=?5"));
  FG_ASSIGN_OR_RETURN(
      auto upsert,
      db.Prepare("INSERT INTO invitations(company_id, profile_urn, state, prior_state, "
                 "reason, request_id, chunk_id, invite_time) VALUES "
                 "(?1, ?2, ?3, NULL, '', ?4, ?5, ?6) ON CONFLICT(company_id, profile_urn) "
                 "DO UPDATE SET prior_state=state, state=excluded.state, reason='', "
                 "request_id=excluded.request_id, chunk_id=excluded.chunk_id, "
                 "invite_time=excluded.invite_time"));
  Chunk out;
  out.id = chunk_id;
  // The time as stored: what the profiles' invite_time will read back.
  out.claimed_at = FromMillis(Millis(now));
  for (const auto& [index, urn] : claimed) {
    mark.Reset();
    FG_RETURN_IF_ERROR(mark.Bind(1, int64_t{kInFlight}).Bind(2, chunk_id)
                           .Bind(3, Millis(now)).Bind(4, request_id).Bind(5, int64_t{index})
                           .Run());
    upsert.Reset();
    FG_RETURN_IF_ERROR(upsert.Bind(1, company).Bind(2, urn).Bind(3, int64_t{kInFlight})
                           .Bind(4, request_id).Bind(5, chunk_id).Bind(6, Millis(now))
                           .Run());
    out.profiles.emplace_back(index, urn);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteInvitationLedger>> SqliteInvitationLedger::Open(
    const std::string& path, Clock* clock) {
  FG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<SqliteInvitationLedger> ledger(new SqliteInvitationLedger(std::move(db), clock));
  FG_RETURN_IF_ERROR(ledger->CreateSchemaAndRecover());
  return ledger;
}

absl::Status SqliteInvitationLedger::CreateSchemaAndRecover() {
  absl::MutexLock lock(&mu_);
  FG_RETURN_IF_ERROR(db_->Exec(kSchema));
  // Whatever was in flight when the process died may have been sent.
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto profiles,
                        db_->Prepare("UPDATE batch_profiles SET outcome=?1, reason=?2, "
                                     "invited_by=request_id WHERE outcome=?3"));
    FG_RETURN_IF_ERROR(
        profiles.Bind(1, int64_t{v1::INVITATION_OUTCOME_UNKNOWN}).Bind(2, kStoppedInFlightReason)
            .Bind(3, int64_t{kInFlight}).Run());
    if (const int recovered = db_->Changes(); recovered > 0) {
      LogInfo(absl::StrCat("ledger: ", recovered,
                           " profiles were in flight when followgate stopped; now UNKNOWN"));
    }
    FG_ASSIGN_OR_RETURN(auto invitations,
                        db_->Prepare("UPDATE invitations SET state=?1, reason=?2, "
                                     "prior_state=NULL WHERE state=?3"));
    FG_RETURN_IF_ERROR(invitations.Bind(1, int64_t{v1::INVITATION_OUTCOME_UNKNOWN})
                           .Bind(2, kStoppedInFlightReason).Bind(3, int64_t{kInFlight}).Run());
    return db_->Exec("UPDATE chunks SET state='UNKNOWN' WHERE state='IN_FLIGHT'");
  });
}

bool SqliteInvitationLedger::BatchExists(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  auto stmt = db_->Prepare("SELECT 1 FROM batches WHERE request_id=?1");
  if (!stmt.ok()) return false;
  stmt->Bind(1, request_id);
  auto row = stmt->Step();
  return row.ok() && *row;
}

absl::Status SqliteInvitationLedger::StartBatch(const BatchSpec& spec) {
  absl::MutexLock lock(&mu_);
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto batch,
                        db_->Prepare("SELECT company_id, account_id, retry_unknown "
                                     "FROM batches WHERE request_id=?1"));
    batch.Bind(1, spec.request_id);
    FG_ASSIGN_OR_RETURN(bool exists, batch.Step());
    if (exists) {
      StoredBatch stored;
      stored.company_id = batch.Text(0);
      stored.account_id = batch.Text(1);
      stored.retry_unknown = batch.Int(2) != 0;
      FG_ASSIGN_OR_RETURN(auto urns, db_->Prepare("SELECT profile_urn FROM batch_profiles "
                                                  "WHERE request_id=?1 ORDER BY idx"));
      urns.Bind(1, spec.request_id);
      for (;;) {
        FG_ASSIGN_OR_RETURN(bool row, urns.Step());
        if (!row) break;
        stored.profile_urns.push_back(urns.Text(0));
      }
      return CheckRepeatedBatch(stored, spec);
    }
    FG_ASSIGN_OR_RETURN(auto insert_batch,
                        db_->Prepare("INSERT INTO batches VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    FG_RETURN_IF_ERROR(insert_batch.Bind(1, spec.request_id)
                           .Bind(2, spec.company_id)
                           .Bind(3, spec.account_id)
                           .Bind(4, int64_t{spec.retry_unknown ? 1 : 0})
                           .Bind(5, static_cast<int64_t>(spec.profile_urns.size()))
                           .Bind(6, Millis(clock_->Now()))
                           .Run());
    FG_ASSIGN_OR_RETURN(auto insert_profile,
                        db_->Prepare("INSERT INTO batch_profiles(request_id, idx, "
                                     "profile_urn, outcome, reason) VALUES (?1,?2,?3,?4,?5)"));
    for (const NewBatchProfile& profile : NewBatchProfiles(spec)) {
      insert_profile.Reset();
      insert_profile.Bind(1, spec.request_id).Bind(2, int64_t{profile.index})
          .Bind(3, profile.profile_urn);
      if (profile.duplicate) {
        insert_profile.Bind(4, int64_t{v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE})
            .Bind(5, profile.reason);
      } else {
        insert_profile.Bind(4, int64_t{kPending}).Bind(5, "");
      }
      FG_RETURN_IF_ERROR(insert_profile.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DecidedProfile>> SqliteInvitationLedger::DecidedProfiles(
    const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare("SELECT idx, profile_urn, outcome, reason, invite_time, "
                                   "invited_by FROM batch_profiles WHERE request_id=?1 "
                                   "AND outcome NOT IN (?2, ?3) ORDER BY idx"));
  stmt.Bind(1, request_id).Bind(2, int64_t{kPending}).Bind(3, int64_t{kInFlight});
  std::vector<DecidedProfile> decided;
  for (;;) {
    FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    DecidedProfile profile;
    profile.index = static_cast<int>(stmt.Int(0));
    profile.profile_urn = stmt.Text(1);
    profile.outcome = static_cast<v1::InvitationOutcome>(stmt.Int(2));
    profile.reason = stmt.Text(3);
    if (!stmt.IsNull(4)) profile.invite_time = FromMillis(stmt.Int(4));
    profile.invited_by_request_id = stmt.Text(5);
    decided.push_back(std::move(profile));
  }
  return decided;
}

absl::StatusOr<int64_t> SqliteInvitationLedger::CreditsUsedLocked(const std::string& company_id,
                                                                  absl::Time start,
                                                                  absl::Time end) {
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare("SELECT COUNT(*) FROM invitations WHERE company_id=?1 "
                                   "AND state IN (?2, ?3, ?4) AND invite_time >= ?5 "
                                   "AND invite_time < ?6"));
  stmt.Bind(1, company_id)
      .Bind(2, int64_t{v1::INVITATION_OUTCOME_SENT})
      .Bind(3, int64_t{v1::INVITATION_OUTCOME_UNKNOWN})
      .Bind(4, int64_t{kInFlight})
      .Bind(5, Millis(start))
      .Bind(6, Millis(end));
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

absl::StatusOr<int64_t> SqliteInvitationLedger::CreditsUsed(const std::string& company_id,
                                                            absl::Time month_start,
                                                            absl::Time month_end) {
  absl::MutexLock lock(&mu_);
  return CreditsUsedLocked(company_id, month_start, month_end);
}

absl::StatusOr<Claim> SqliteInvitationLedger::ClaimChunk(
    const std::string& request_id, int max_profiles, bool retry_unknown,
    const std::optional<CreditBudget>& budget) {
  absl::MutexLock lock(&mu_);
  Claim claim;
  const absl::Time now = clock_->Now();
  absl::Status status = db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(const std::string company, CompanyOfBatch(*db_, request_id));
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
    if (plan.claimed.empty()) return absl::OkStatus();
    FG_ASSIGN_OR_RETURN(claim.chunk, RecordChunk(*db_, request_id, company, plan.claimed, now));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claim;
}

absl::Status SqliteInvitationLedger::CompleteChunk(int64_t chunk_id,
                                                   const std::vector<DecidedProfile>& outcomes) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto profile,
                        db_->Prepare("UPDATE batch_profiles SET outcome=?1, reason=?2, "
                                     "invited_by=?5 WHERE chunk_id=?3 AND idx=?4"));
    FG_ASSIGN_OR_RETURN(auto invitation,
                        db_->Prepare("UPDATE invitations SET state=?1, reason=?2, "
                                     "prior_state=NULL WHERE chunk_id=?3 AND profile_urn=?4 "
                                     "AND state=?5"));
    for (const DecidedProfile& d : outcomes) {
      profile.Reset();
      FG_RETURN_IF_ERROR(profile.Bind(1, int64_t{d.outcome}).Bind(2, d.reason)
                             .Bind(3, chunk_id).Bind(4, int64_t{d.index})
                             .Bind(5, d.invited_by_request_id).Run());
      invitation.Reset();
      FG_RETURN_IF_ERROR(invitation.Bind(1, int64_t{d.outcome}).Bind(2, d.reason)
                             .Bind(3, chunk_id).Bind(4, d.profile_urn)
                             .Bind(5, int64_t{kInFlight}).Run());
    }
    FG_ASSIGN_OR_RETURN(auto chunk, db_->Prepare("UPDATE chunks SET state='DONE', "
                                                 "finished_at=?1 WHERE chunk_id=?2"));
    return chunk.Bind(1, Millis(now)).Bind(2, chunk_id).Run();
  });
}

absl::Status SqliteInvitationLedger::MarkChunkUnknown(int64_t chunk_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto profiles,
                        db_->Prepare("UPDATE batch_profiles SET outcome=?1, reason=?2, "
                                     "invited_by=request_id WHERE chunk_id=?3 AND outcome=?4"));
    FG_RETURN_IF_ERROR(profiles.Bind(1, int64_t{v1::INVITATION_OUTCOME_UNKNOWN})
                           .Bind(2, reason).Bind(3, chunk_id).Bind(4, int64_t{kInFlight})
                           .Run());
    FG_ASSIGN_OR_RETURN(auto invitations,
                        db_->Prepare("UPDATE invitations SET state=?1, reason=?2, "
                                     "prior_state=NULL WHERE chunk_id=?3 AND state=?4"));
    FG_RETURN_IF_ERROR(invitations.Bind(1, int64_t{v1::INVITATION_OUTCOME_UNKNOWN})
                           .Bind(2, reason).Bind(3, chunk_id).Bind(4, int64_t{kInFlight})
                           .Run());
    FG_ASSIGN_OR_RETURN(auto chunk, db_->Prepare("UPDATE chunks SET state='UNKNOWN', "
                                                 "finished_at=?1 WHERE chunk_id=?2"));
    return chunk.Bind(1, Millis(now)).Bind(2, chunk_id).Run();
  });
}

absl::Status SqliteInvitationLedger::ReleaseChunk(int64_t chunk_id) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto profiles,
                        db_->Prepare("UPDATE batch_profiles SET outcome=?1, chunk_id=NULL, "
                                     "invite_time=NULL WHERE chunk_id=?2 AND outcome=?3"));
    FG_RETURN_IF_ERROR(profiles.Bind(1, int64_t{kPending}).Bind(2, chunk_id)
                           .Bind(3, int64_t{kInFlight}).Run());
    FG_ASSIGN_OR_RETURN(auto new_rows,
                        db_->Prepare("DELETE FROM invitations WHERE chunk_id=?1 AND state=?2 "
                                     "AND prior_state IS NULL"));
    FG_RETURN_IF_ERROR(new_rows.Bind(1, chunk_id).Bind(2, int64_t{kInFlight}).Run());
    FG_ASSIGN_OR_RETURN(auto old_rows,
                        db_->Prepare("UPDATE invitations SET state=prior_state, "
                                     "prior_state=NULL WHERE chunk_id=?1 AND state=?2"));
    FG_RETURN_IF_ERROR(old_rows.Bind(1, chunk_id).Bind(2, int64_t{kInFlight}).Run());
    FG_ASSIGN_OR_RETURN(auto chunk, db_->Prepare("UPDATE chunks SET state='RELEASED', "
                                                 "finished_at=?1 WHERE chunk_id=?2"));
    return chunk.Bind(1, Millis(now)).Bind(2, chunk_id).Run();
  });
}

absl::StatusOr<std::string> SqliteInvitationLedger::LedgerId() {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT ledger_id FROM ledger_identity"));
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Text(0) : std::string();
}

absl::Status SqliteInvitationLedger::SetLedgerId(const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT OR REPLACE INTO ledger_identity"
                                              "(singleton, ledger_id) VALUES (1, ?1)"));
  return stmt.Bind(1, ledger_id).Run();
}

absl::StatusOr<int64_t> SqliteInvitationLedger::BatchCount() {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT COUNT(*) FROM batches"));
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

absl::StatusOr<int> SqliteInvitationLedger::UpstreamRequests(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT COUNT(*) FROM chunks WHERE "
                                              "request_id=?1 AND state!='RELEASED'"));
  stmt.Bind(1, request_id);
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 0;
}

absl::StatusOr<int> SqliteInvitationLedger::PendingProfiles(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT COUNT(*) FROM batch_profiles WHERE "
                                              "request_id=?1 AND outcome IN (?2, ?3)"));
  stmt.Bind(1, request_id).Bind(2, int64_t{kPending}).Bind(3, int64_t{kInFlight});
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 0;
}

absl::StatusOr<InvitationRecord> SqliteInvitationLedger::GetInvitation(
    const std::string& company_id, const std::string& profile_urn) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare("SELECT state, reason, invite_time, request_id FROM "
                                   "invitations WHERE company_id=?1 AND profile_urn=?2"));
  stmt.Bind(1, company_id).Bind(2, profile_urn);
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("followgate never invited ", profile_urn,
                                            " to follow company ", company_id));
  }
  InvitationRecord record;
  record.company_id = company_id;
  record.profile_urn = profile_urn;
  const int state = static_cast<int>(stmt.Int(0));
  // A row in flight is reported as UNKNOWN: its answer has not arrived.
  record.outcome = state == kInFlight ? v1::INVITATION_OUTCOME_UNKNOWN
                                      : static_cast<v1::InvitationOutcome>(state);
  record.reason = state == kInFlight ? "the request is in flight" : stmt.Text(1);
  record.invite_time = FromMillis(stmt.Int(2));
  record.request_id = stmt.Text(3);
  return record;
}

}  // namespace followgate
