#include "server/follows/pg_crawl_registry.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/status_macros.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/storage/pg_db.h"

namespace followgate {
namespace {

// `lease` from the database's now, for a parameter $n holding microseconds.
#define FG_LEASE_FROM_NOW(n) "(clock_timestamp() + $" n "::bigint * interval '1 microsecond')"

absl::Status Abandoned() {
  return absl::UnavailableError("this replica's crawl registry was abandoned");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgCrawlRegistry>> PgCrawlRegistry::Create(
    PgCrawlRegistryOptions options) {
  if (options.url.empty()) return absl::InvalidArgumentError("url: the database is required");
  if (options.replica_id.empty()) {
    return absl::InvalidArgumentError("replica_id: must not be empty");
  }
  if (options.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease: must be positive, not ", absl::FormatDuration(options.lease)));
  }
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "poll_interval: must be positive, not ", absl::FormatDuration(options.poll_interval)));
  }
  if (options.clock == nullptr) options.clock = Clock::Real();
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(options.url, options.password));
  FG_RETURN_IF_ERROR(MigrateSnapshotSchema(*db));
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> listen_db,
                      PgDb::Connect(options.url, options.password));
  FG_RETURN_IF_ERROR(listen_db->Listen(kPgSnapshotPagesChannel));
  return std::unique_ptr<PgCrawlRegistry>(
      new PgCrawlRegistry(std::move(options), std::move(db), std::move(listen_db)));
}

PgCrawlRegistry::PgCrawlRegistry(PgCrawlRegistryOptions options, std::unique_ptr<PgDb> db,
                                 std::unique_ptr<PgDb> listen_db)
    : options_(std::move(options)), db_(std::move(db)), listen_db_(std::move(listen_db)) {
  renewer_ = std::thread([this] { RenewLoop(); });
  listener_ = std::thread([this] { ListenLoop(); });
}

PgCrawlRegistry::~PgCrawlRegistry() {
  Abandon();
  if (renewer_.joinable()) renewer_.join();
  if (listener_.joinable()) listener_.join();
}

void PgCrawlRegistry::Abandon() {
  {
    absl::MutexLock lock(&promote_mu_);
    promotions_.clear();
  }
  {
    absl::MutexLock lock(&db_mu_);
    abandoned_ = true;
    leading_.clear();
  }
  {
    absl::MutexLock lock(&change_mu_);
    stopped_ = true;
  }
  stop_.Cancel();
}

bool PgCrawlRegistry::WaitStopped(absl::Duration timeout) {
  absl::MutexLock lock(&change_mu_);
  change_mu_.AwaitWithTimeout(absl::Condition(&stopped_), timeout);
  return stopped_;
}

absl::StatusOr<bool> PgCrawlRegistry::TryLead(int64_t snapshot_id, IfOutcomeRecorded recorded) {
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return Abandoned();
  // One statement: of two replicas, the second sees the first's row (its
  // INSERT waits on the key) and takes it only if that lease has passed.
  absl::StatusOr<PgResult> taken = db_->Query(
      "INSERT INTO crawl_leases(snapshot_id, owner, lease_until) "
      "VALUES ($1, $2, " FG_LEASE_FROM_NOW("3") ") ON CONFLICT (snapshot_id) DO UPDATE SET "
      "owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, outcome_code = NULL, "
      "outcome_message = NULL, caller_priority = CASE WHEN crawl_leases.outcome_code IS NULL "
      "THEN crawl_leases.caller_priority END WHERE (crawl_leases.owner = EXCLUDED.owner OR "
      "crawl_leases.lease_until <= clock_timestamp()) AND ($4 OR crawl_leases.outcome_code "
      "IS NULL) RETURNING owner",
      {snapshot_id, options_.replica_id, absl::ToInt64Microseconds(options_.lease),
       recorded == IfOutcomeRecorded::kLeadAgain});
  if (!taken.ok()) {
    // A snapshot deleted meanwhile has nothing to lead.
    if (absl::IsInternal(taken.status())) leading_.erase(snapshot_id);
    return taken.status();
  }
  const bool held = taken->rows.size() == 1;
  if (held) {
    leading_.insert(snapshot_id);
  } else {
    leading_.erase(snapshot_id);
  }
  return held;
}

bool PgCrawlRegistry::StillLeading(int64_t snapshot_id) {
  absl::MutexLock lock(&db_mu_);
  return leading_.count(snapshot_id) != 0;
}

void PgCrawlRegistry::StopLeading(int64_t snapshot_id, const absl::Status& outcome) {
  {
    absl::MutexLock lock(&promote_mu_);  // Waits for a promotion running.
    promotions_.erase(snapshot_id);
  }
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return;
  if (leading_.erase(snapshot_id) == 0) return;  // Lost meanwhile: not ours to release.
  absl::Status done;
  if (IsRecordedOutcome(outcome)) {
    done = db_->Query("UPDATE crawl_leases SET lease_until = clock_timestamp(), "
                      "outcome_code = $3, outcome_message = $4 "
                      "WHERE snapshot_id = $1 AND owner = $2",
                      {snapshot_id, options_.replica_id, static_cast<int>(outcome.code()),
                       std::string(outcome.message())})
               .status();
  } else {
    done = db_->Query("DELETE FROM crawl_leases WHERE snapshot_id = $1 AND owner = $2",
                      {snapshot_id, options_.replica_id})
               .status();
  }
  if (!done.ok()) {
    LogError(absl::StrCat("crawl lease of snapshot ", snapshot_id,
                          " not released (it expires): ", StatusForLog(done)));
  }
}

absl::StatusOr<absl::Status> PgCrawlRegistry::Outcome(int64_t snapshot_id) {
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return Abandoned();
  FG_ASSIGN_OR_RETURN(PgResult row,
                      db_->Query("SELECT outcome_code, outcome_message FROM crawl_leases "
                                 "WHERE snapshot_id = $1 AND outcome_code IS NOT NULL",
                                 {snapshot_id}));
  if (row.rows.empty()) return absl::OkStatus();
  const int code = static_cast<int>(row.rows[0].Int(0));
  return absl::Status(static_cast<absl::StatusCode>(code), row.rows[0].Text(1));
}

absl::StatusOr<bool> PgCrawlRegistry::CrawlLive(int64_t snapshot_id) {
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return Abandoned();
  FG_ASSIGN_OR_RETURN(PgResult row,
                      db_->Query("SELECT 1 FROM crawl_leases WHERE snapshot_id = $1 AND "
                                 "lease_until > clock_timestamp()",
                                 {snapshot_id}));
  return !row.rows.empty();
}

void PgCrawlRegistry::CallerWaits(int64_t snapshot_id, int priority) {
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return;
  // GREATEST ignores NULL: the first caller's priority, then the highest.
  absl::StatusOr<PgResult> raised =
      db_->Query("UPDATE crawl_leases SET caller_priority = GREATEST(caller_priority, $2) "
                 "WHERE snapshot_id = $1",
                 {snapshot_id, priority});
  absl::Status told = raised.status();
  // No row: nobody leads the crawl (this replica's crawl will), or it ended.
  if (told.ok() && raised->affected_rows == 1) {
    told = db_->Notify(kPgSnapshotPagesChannel, absl::StrCat(snapshot_id));
  }
  if (!told.ok()) {
    LogError(absl::StrCat("a caller waiting for the crawl of snapshot ", snapshot_id,
                          " was not announced: ", StatusForLog(told)));
  }
}

void PgCrawlRegistry::WhenCallerWaits(int64_t snapshot_id,
                                      std::function<void(int priority)> promote) {
  {
    absl::MutexLock lock(&promote_mu_);
    promotions_[snapshot_id] = std::move(promote);
  }
  CheckCallerWaits(snapshot_id);  // One announced before.
}

bool PgCrawlRegistry::PromotionPending(int64_t snapshot_id) {
  absl::MutexLock lock(&promote_mu_);
  return promotions_.count(snapshot_id) != 0;
}

void PgCrawlRegistry::CheckCallerWaits(int64_t snapshot_id) {
  if (!PromotionPending(snapshot_id)) return;
  absl::StatusOr<PgResult> row;
  {
    absl::MutexLock lock(&db_mu_);
    if (abandoned_ || leading_.count(snapshot_id) == 0) return;
    row = db_->Query("SELECT caller_priority FROM crawl_leases WHERE snapshot_id = $1 AND "
                     "owner = $2 AND caller_priority IS NOT NULL",
                     {snapshot_id, options_.replica_id});
  }
  if (!row.ok()) {
    // The next renewal looks again.
    LogError(absl::StrCat("callers waiting for the crawl of snapshot ", snapshot_id,
                          " not read: ", StatusForLog(row.status())));
    return;
  }
  if (!row->rows.empty()) Promote(snapshot_id, static_cast<int>(row->rows[0].Int(0)));
}

void PgCrawlRegistry::Promote(int64_t snapshot_id, int priority) {
  absl::MutexLock lock(&promote_mu_);
  auto it = promotions_.find(snapshot_id);
  if (it == promotions_.end()) return;
  std::function<void(int)> promote = std::move(it->second);
  promotions_.erase(it);
  promote(priority);  // Under promote_mu_: StopLeading waits for it.
}

void PgCrawlRegistry::Pin(int64_t snapshot_id) {
  absl::MutexLock lock(&db_mu_);
  if (abandoned_ || ++pins_[snapshot_id] > 1) return;
  absl::Status pinned =
      db_->Query("INSERT INTO snapshot_pins(snapshot_id, owner, alive_until) "
                 "VALUES ($1, $2, " FG_LEASE_FROM_NOW("3") ") ON CONFLICT (snapshot_id, owner) "
                 "DO UPDATE SET alive_until = EXCLUDED.alive_until",
                 {snapshot_id, options_.replica_id, absl::ToInt64Microseconds(options_.lease)})
          .status();
  // The renewals try again (a snapshot deleted meanwhile fails for good).
  if (!pinned.ok()) {
    LogError(absl::StrCat("pin of snapshot ", snapshot_id, " not stored: ", StatusForLog(pinned)));
  }
}

void PgCrawlRegistry::Unpin(int64_t snapshot_id) {
  absl::MutexLock lock(&db_mu_);
  auto it = pins_.find(snapshot_id);
  if (it == pins_.end() || --it->second > 0) return;
  pins_.erase(it);
  if (abandoned_) return;
  absl::Status unpinned =
      db_->Query("DELETE FROM snapshot_pins WHERE snapshot_id = $1 AND owner = $2",
                 {snapshot_id, options_.replica_id})
          .status();
  if (!unpinned.ok()) {
    LogError(absl::StrCat("pin of snapshot ", snapshot_id,
                          " not removed (it expires): ", StatusForLog(unpinned)));
  }
}

absl::StatusOr<std::map<int64_t, int>> PgCrawlRegistry::RenewOnce() {
  std::map<int64_t, int> callers;
  absl::MutexLock lock(&db_mu_);
  if (abandoned_) return callers;
  const int64_t lease = absl::ToInt64Microseconds(options_.lease);
  for (auto it = leading_.begin(); it != leading_.end();) {
    FG_ASSIGN_OR_RETURN(PgResult renewed,
                        db_->Query("UPDATE crawl_leases SET lease_until = " FG_LEASE_FROM_NOW(
                                       "3") " WHERE snapshot_id = $1 AND owner = $2 AND "
                                            "lease_until > clock_timestamp() "
                                            "RETURNING caller_priority",
                                   {*it, options_.replica_id, lease}));
    if (renewed.rows.size() == 1) {
      if (!renewed.rows[0].IsNull(0)) callers[*it] = static_cast<int>(renewed.rows[0].Int(0));
      ++it;
      continue;
    }
    LogInfo(absl::StrCat("crawl lease of snapshot ", *it, " lost"));
    it = leading_.erase(it);
  }
  for (const auto& [id, count] : pins_) {
    FG_RETURN_IF_ERROR(
        db_->Query("INSERT INTO snapshot_pins(snapshot_id, owner, alive_until) "
                   "SELECT $1, $2, " FG_LEASE_FROM_NOW("3") " WHERE EXISTS (SELECT 1 FROM "
                   "snapshots WHERE id = $1) ON CONFLICT (snapshot_id, owner) "
                   "DO UPDATE SET alive_until = EXCLUDED.alive_until",
                   {id, options_.replica_id, lease})
            .status());
  }
  return callers;
}

void PgCrawlRegistry::RenewLoop() {
  while (!WaitStopped(options_.lease / 3)) {
    absl::StatusOr<std::map<int64_t, int>> renewed = RenewOnce();
    if (!renewed.ok()) {
      LogError(absl::StrCat("crawl leases and pins not renewed: ",
                            StatusForLog(renewed.status())));
      continue;
    }
    for (const auto& [id, priority] : *renewed) Promote(id, priority);
  }
}

void PgCrawlRegistry::ListenLoop() {
  while (!stop_.IsCancelled()) {
    absl::StatusOr<std::optional<PgNotification>> woken =
        listen_db_->WaitForNotification(absl::Now() + options_.poll_interval, stop_);
    if (!woken.ok()) {
      if (stop_.IsCancelled()) return;
      // Lost: the next wait reconnects (and listens again) after a pause;
      // waiters poll meanwhile.
      if (WaitStopped(kPgUnavailableRetryDelay)) return;
      continue;
    }
    if (!woken->has_value()) continue;
    int64_t id = 0;
    if (!absl::SimpleAtoi((*woken)->payload, &id)) continue;
    {
      absl::MutexLock lock(&change_mu_);
      auto it = changes_.find(id);
      if (it != changes_.end()) ++it->second.changes;
    }
    CheckCallerWaits(id);  // Maybe a caller waits for a crawl led here.
  }
}

void PgCrawlRegistry::WaitForChange(int64_t snapshot_id, absl::Time until,
                                    const CancellationToken& cancel) {
  const absl::Duration left =
      std::clamp(until - options_.clock->Now(), absl::ZeroDuration(), options_.poll_interval);
  const absl::Time deadline = absl::Now() + left;
  CancellationCallback wake(cancel, [this] { absl::MutexLock lock(&change_mu_); });
  absl::MutexLock lock(&change_mu_);
  Watched& watched = changes_[snapshot_id];  // Stable: entries are erased only below.
  ++watched.waiters;
  const uint64_t seen = watched.changes;
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(change_mu_) {
    return watched.changes != seen || stopped_ || cancel.IsCancelled();
  };
  change_mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  if (--watched.waiters == 0) changes_.erase(snapshot_id);
}

}  // namespace followgate
