#include "server/follows/fleet_budget.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/status_macros.h"
#include "server/storage/pg_db.h"
#include "server/storage/pg_migrations.h"

namespace followgate {
namespace {

// Times cross the wire as microseconds since the Unix epoch, exactly.
constexpr char kDbNowMicros[] =
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
#define FG_MICROS_TO_TS(n) "('epoch'::timestamptz + $" n "::bigint * interval '1 microsecond')"
#define FG_TS_TO_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Version 1 keeps IF NOT EXISTS: databases made before schema_migrations
// already hold these tables, and only gain the record.
constexpr char kSchemaV1[] =
    "CREATE TABLE IF NOT EXISTS fleet_budgets ("
    "  name text PRIMARY KEY,"
    "  next_grant timestamptz NOT NULL DEFAULT 'epoch',"
    "  last_caller text NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS fleet_budget_waiters ("
    "  id bigserial PRIMARY KEY,"
    "  budget text NOT NULL REFERENCES fleet_budgets (name) ON DELETE CASCADE,"
    "  replica text NOT NULL,"
    "  caller text NOT NULL,"
    "  priority integer NOT NULL,"
    "  not_before timestamptz NOT NULL,"
    "  enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
    "  alive_until timestamptz NOT NULL);"
    "CREATE INDEX IF NOT EXISTS fleet_budget_waiters_by_budget "
    "  ON fleet_budget_waiters (budget)";

// Version 2: the adaptive interval's state in fleet_budgets: the raised
// interval (at most the minimum: not raised) and the answers in a row since
// the last change.
constexpr char kSchemaV2[] =
    "ALTER TABLE fleet_budgets"
    "  ADD COLUMN IF NOT EXISTS raised_interval_micros bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN IF NOT EXISTS answers_in_a_row integer NOT NULL DEFAULT 0";

// Version 3: idle-only waiters (PacerRequest::idle_only), granted only when
// no other waiter of the fleet is ready.
constexpr char kSchemaV3[] =
    "ALTER TABLE fleet_budget_waiters"
    "  ADD COLUMN IF NOT EXISTS idle_only boolean NOT NULL DEFAULT false";

// A not_before this far ahead is as good as never (and keeps the arithmetic
// in range).
constexpr absl::Duration kLongestDelay = absl::Hours(24 * 365);
// A wait shorter than this is not worth a round trip.
constexpr absl::Duration kShortestWait = absl::Milliseconds(1);

absl::StatusOr<int64_t> DbNowMicros(PgDb& db) {
  FG_ASSIGN_OR_RETURN(PgResult now, db.Query(kDbNowMicros));
  return now.rows.at(0).Int(0);
}


}  // namespace

absl::StatusOr<std::unique_ptr<FleetBudget>> FleetBudget::Create(FleetBudgetOptions options) {
  if (options.name.empty()) {
    return absl::InvalidArgumentError("the fleet budget needs a name (e.g. the credential's)");
  }
  // Zero is no pacing, as in RequestPacer (--linkedin_min_interval=0s).
  if (options.interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the fleet budget interval must not be negative, not ",
                     absl::FormatDuration(options.interval)));
  }
  if (options.recheck_interval <= absl::ZeroDuration() ||
      options.waiter_ttl <= options.recheck_interval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the fleet budget's waiter_ttl (", absl::FormatDuration(options.waiter_ttl),
        ") must exceed its positive recheck_interval (",
        absl::FormatDuration(options.recheck_interval), ")"));
  }
  if (options.clock == nullptr) options.clock = Clock::Real();
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(options.url, options.password));
  FG_RETURN_IF_ERROR(ApplyMigrations(*db, "fleet_budget", {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}}));
  FG_RETURN_IF_ERROR(
      db->Query("INSERT INTO fleet_budgets (name) VALUES ($1) ON CONFLICT DO NOTHING",
                {options.name})
          .status());
  if (options.max_interval < options.interval) options.max_interval = 8 * options.interval;
  return std::unique_ptr<FleetBudget>(new FleetBudget(std::move(options)));
}

FleetBudget::FleetBudget(FleetBudgetOptions options)
    : options_(std::move(options)), last_interval_(options_.interval) {}
FleetBudget::~FleetBudget() = default;

std::string FleetBudget::channel() const { return absl::StrCat("fleet_budget:", options_.name); }

absl::StatusOr<int64_t> FleetBudget::InsertWaiter(PgDb& db, const FleetBudgetOptions& options,
                                                  const PacerRequest& request,
                                                  int64_t not_before_micros) {
  FG_ASSIGN_OR_RETURN(
      PgResult inserted,
      db.Query("INSERT INTO fleet_budget_waiters "
               "(budget, replica, caller, priority, not_before, alive_until, idle_only) "
               "VALUES ($1, $2, $3, $4, " FG_MICROS_TO_TS("5") ", "
               "clock_timestamp() + $6::bigint * interval '1 microsecond', $7::bigint <> 0) "
               "RETURNING id",
               {options.name, options.replica_id, request.caller, request.priority,
                not_before_micros, absl::ToInt64Microseconds(options.waiter_ttl),
                static_cast<int64_t>(request.idle_only ? 1 : 0)}));
  return inserted.rows.at(0).Int(0);
}

absl::StatusOr<FleetBudget::Look> FleetBudget::LookOnce(PgDb& db, const PacerRequest& request,
                                                        int64_t not_before_micros,
                                                        int64_t& waiter_id,
                                                        WaitTicket* ticket) {
  Look look;
  const std::string& name = options_.name;
  absl::Status status = db.InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(
        PgResult budget,
        db.Query("SELECT " FG_TS_TO_MICROS("next_grant") ", last_caller, "
                 "GREATEST(raised_interval_micros, $2::bigint) FROM fleet_budgets "
                 "WHERE name = $1 FOR UPDATE",
                 {name, absl::ToInt64Microseconds(options_.interval)}));
    if (budget.rows.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the fleet budget \"", name, "\" has no row in fleet_budgets"));
    }
    const absl::Time next_grant = absl::FromUnixMicros(budget.rows[0].Int(0));
    const std::string last_caller = budget.rows[0].Text(1);
    const absl::Duration interval_in_force = absl::Microseconds(budget.rows[0].Int(2));
    // Read only now that the row is locked: every earlier grant has
    // committed, so this time is later than theirs.
    FG_ASSIGN_OR_RETURN(const int64_t now_micros, DbNowMicros(db));
    const absl::Time now = absl::FromUnixMicros(now_micros);
    look.db_now = now;

    FG_RETURN_IF_ERROR(db.Query("DELETE FROM fleet_budget_waiters "
                                "WHERE budget = $1 AND alive_until <= " FG_MICROS_TO_TS("2"),
                                {name, now_micros})
                           .status());
    FG_ASSIGN_OR_RETURN(
        PgResult renewed,
        db.Query("UPDATE fleet_budget_waiters SET alive_until = " FG_MICROS_TO_TS("2") " + "
                 "$3::bigint * interval '1 microsecond' WHERE id = $1",
                 {waiter_id, now_micros, absl::ToInt64Microseconds(options_.waiter_ttl)}));
    if (renewed.affected_rows == 0) {
      // This waiter stalled past its alive_until and someone dropped its
      // row: it queues again, at the back.
      FG_ASSIGN_OR_RETURN(waiter_id, InsertWaiter(db, options_, EffectiveRequest(request, ticket),
                                                  not_before_micros));
      if (ticket != nullptr) ticket->id = static_cast<uint64_t>(waiter_id);
    }
    if (const PacerRequest effective = EffectiveRequest(request, ticket);
        request.idle_only && !effective.idle_only) {
      // Promoted (a caller joined the watched page's crawl): an ordinary
      // request from now on.
      FG_RETURN_IF_ERROR(db.Query("UPDATE fleet_budget_waiters SET idle_only = false, "
                                  "priority = $2 WHERE id = $1 AND idle_only",
                                  {waiter_id, effective.priority})
                             .status());
    }

    FG_ASSIGN_OR_RETURN(
        PgResult rows,
        db.Query("SELECT id, caller, priority, " FG_TS_TO_MICROS("not_before") ", idle_only::int"
                 " FROM fleet_budget_waiters WHERE budget = $1",
                 {name}));
    PacerWaiters waiters;
    for (const PgRow& row : rows.rows) {
      waiters.emplace(row.Int(0),
                      PacerWaiter{row.Text(1), static_cast<int>(row.Int(2)),
                                  absl::FromUnixMicros(row.Int(3)), row.Int(4) != 0});
    }
    const uint64_t head = ChooseNextWaiter(waiters, last_caller, now);
    if (head == static_cast<uint64_t>(waiter_id) && now >= next_grant) {
      // The interval in force: the fleet's raised one, or this replica's.
      FG_RETURN_IF_ERROR(
          db.Query("UPDATE fleet_budgets SET next_grant = " FG_MICROS_TO_TS("2") " + "
                   "GREATEST(raised_interval_micros, $3::bigint) * interval '1 microsecond', "
                   "last_caller = $4 WHERE name = $1",
                   {name, now_micros, absl::ToInt64Microseconds(options_.interval),
                    request.caller})
              .status());
      FG_RETURN_IF_ERROR(
          db.Query("DELETE FROM fleet_budget_waiters WHERE id = $1", {waiter_id}).status());
      look.granted = true;
      look.idle_slots = IdleSlotsBefore(next_grant, now, interval_in_force);
      return db.Notify(channel(), "granted");
    }
    if (head == static_cast<uint64_t>(waiter_id)) {
      look.wait = next_grant - now;
    } else if (head == 0) {
      // Nobody is ready: the next to be is woken by its not_before.
      absl::Time earliest = absl::InfiniteFuture();
      for (const auto& [id, waiter] : waiters) earliest = std::min(earliest, waiter.not_before);
      look.wait = earliest - now;
    } else {
      // Another waiter's turn: its grant (or departure) notifies.
      look.wait = options_.recheck_interval;
    }
    look.wait = std::clamp(look.wait, kShortestWait, options_.recheck_interval);
    return absl::OkStatus();
  });
  FG_RETURN_IF_ERROR(status);
  return look;
}

absl::Status FleetBudget::Leave(PgDb& db, int64_t waiter_id) {
  return db.InTransaction([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(
        db.Query("DELETE FROM fleet_budget_waiters WHERE id = $1", {waiter_id}).status());
    return db.Notify(channel(), "left");
  });
}

absl::Status FleetBudget::Acquire(const PacerRequest& request, const CancellationToken& cancel,
                                  absl::Time* granted_at, WaitTicket* ticket) {
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(options_.url, options_.password));
  // Listening before the first look: a grant committed after a look is
  // never missed by the wait that follows it.
  FG_RETURN_IF_ERROR(db->Listen(channel()));
  const absl::Duration delay =
      std::clamp(request.not_before - options_.clock->Now(), absl::ZeroDuration(), kLongestDelay);
  FG_ASSIGN_OR_RETURN(const int64_t now_micros, DbNowMicros(*db));
  const int64_t not_before_micros = now_micros + absl::ToInt64Microseconds(delay);
  FG_ASSIGN_OR_RETURN(int64_t waiter_id, InsertWaiter(*db, options_,
                                                      EffectiveRequest(request, ticket),
                                                      not_before_micros));
  if (ticket != nullptr) ticket->id = static_cast<uint64_t>(waiter_id);
  struct ClearTicket {
    WaitTicket* ticket;
    ~ClearTicket() {
      if (ticket != nullptr) ticket->id = 0;
    }
  } clear_ticket{ticket};

  absl::Status failure;
  for (;;) {
    if (cancel.IsCancelled()) {
      failure =
          absl::CancelledError("cancelled while waiting for the fleet's upstream rate limit");
      break;
    }
    absl::StatusOr<Look> look = LookOnce(*db, request, not_before_micros, waiter_id, ticket);
    if (absl::IsAborted(look.status())) continue;  // A conflict: look again.
    if (!look.ok()) {
      failure = look.status();
      break;
    }
    if (look->granted) {
      // Idle slots count from this replica's first grant: before it, the
      // gap may be the fleet's whole history.
      if (granted_before_.exchange(true)) {
        Metrics::Get().RecordLinkedInSlots("idle", look->idle_slots);
      }
      if (granted_at != nullptr) *granted_at = look->db_now;
      return absl::OkStatus();
    }
    absl::StatusOr<std::optional<PgNotification>> woken =
        db->WaitForNotification(absl::Now() + look->wait, cancel);
    if (!woken.ok()) {
      failure = woken.status();
      break;
    }
  }
  // Best effort: a row that cannot be removed (the database is away)
  // expires at its alive_until.
  Leave(*db, waiter_id).IgnoreError();
  return failure;
}

absl::Status FleetBudget::Acquire(const PacerRequest& request, const CancellationToken& cancel,
                                  WaitTicket* ticket) {
  return Acquire(request, cancel, nullptr, ticket);
}

absl::StatusOr<PgDb*> FleetBudget::SharedDb() const {
  if (shared_db_ == nullptr) {
    FG_ASSIGN_OR_RETURN(shared_db_, PgDb::Connect(options_.url, options_.password));
  }
  return shared_db_.get();
}

std::optional<QueuePosition> FleetBudget::PositionOf(uint64_t ticket) const {
  absl::StatusOr<std::optional<QueuePosition>> position = ReadPosition(ticket);
  if (position.ok()) return *position;
  LogError(absl::StrCat("fleet budget ", options_.name, ": no queue position: ",
                        StatusForLog(position.status())));
  return std::nullopt;
}

absl::StatusOr<std::optional<QueuePosition>> FleetBudget::ReadPosition(uint64_t ticket) const {
  absl::MutexLock lock(&shared_mu_);
  FG_ASSIGN_OR_RETURN(PgDb* const shared, SharedDb());
  PgDb& db = *shared;
  PacerWaiters waiters;
  absl::Time next_grant, now;
  absl::Duration interval = options_.interval;
  std::string last_caller;
  // One snapshot of the budget and its queue; no lock: a heartbeat must not
  // hold up grants.
  absl::Status read = db.InTransaction(
      [&]() -> absl::Status {
        FG_ASSIGN_OR_RETURN(
            PgResult budget,
            db.Query("SELECT " FG_TS_TO_MICROS("next_grant") ", last_caller, " FG_TS_TO_MICROS(
                         "clock_timestamp()") ", raised_interval_micros "
                         "FROM fleet_budgets WHERE name = $1",
                     {options_.name}));
        if (budget.rows.empty()) return absl::OkStatus();
        next_grant = absl::FromUnixMicros(budget.rows[0].Int(0));
        last_caller = budget.rows[0].Text(1);
        now = absl::FromUnixMicros(budget.rows[0].Int(2));
        interval = std::max(interval, absl::Microseconds(budget.rows[0].Int(3)));
        FG_ASSIGN_OR_RETURN(
            PgResult rows,
            db.Query("SELECT id, caller, priority, " FG_TS_TO_MICROS("not_before") ", idle_only::int"
                     " FROM fleet_budget_waiters WHERE budget = $1 AND alive_until > "
                     "clock_timestamp()",
                     {options_.name}));
        for (const PgRow& row : rows.rows) {
          waiters.emplace(row.Int(0), PacerWaiter{row.Text(1), static_cast<int>(row.Int(2)),
                                                  absl::FromUnixMicros(row.Int(3)), row.Int(4) != 0});
        }
        return absl::OkStatus();
      },
      PgIsolation::kRepeatableRead);
  FG_RETURN_IF_ERROR(read);
  if (waiters.count(ticket) == 0) return std::nullopt;
  // Replays the grants to come, as RequestPacer::PositionOf does.
  absl::Time t = std::max(now, next_grant);
  for (int ahead = 0;; ++ahead) {
    uint64_t next = ChooseNextWaiter(waiters, last_caller, t);
    if (next == 0) {  // Nobody ready at t: jump to the next not_before.
      absl::Time earliest = absl::InfiniteFuture();
      for (const auto& [id, waiter] : waiters) earliest = std::min(earliest, waiter.not_before);
      t = std::max(t, earliest);
      next = ChooseNextWaiter(waiters, last_caller, t);
    }
    if (next == ticket) return QueuePosition{ahead, t - now};
    last_caller = waiters.at(next).caller;
    waiters.erase(next);
    t += interval;
  }
}

absl::StatusOr<FleetBudget::Pace> FleetBudget::ReadPace() const {
  FG_ASSIGN_OR_RETURN(PgDb* const db, SharedDb());
  FG_ASSIGN_OR_RETURN(
      PgResult row,
      db->Query("SELECT raised_interval_micros, answers_in_a_row, " FG_TS_TO_MICROS(
                    "next_grant") ", " FG_TS_TO_MICROS("clock_timestamp()")
                " FROM fleet_budgets WHERE name = $1",
                {options_.name}));
  // The replica's clock is read right after the database's: their offset
  // carries next_grant over to the replica's clock.
  const absl::Time replica_now = options_.clock->Now();
  if (row.rows.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the fleet budget \"", options_.name, "\" has no row in fleet_budgets"));
  }
  Pace pace;
  pace.interval = std::max(options_.interval, absl::Microseconds(row.rows[0].Int(0)));
  pace.answers_in_a_row = static_cast<int>(row.rows[0].Int(1));
  pace.next_grant = absl::FromUnixMicros(row.rows[0].Int(2));
  pace.db_now = absl::FromUnixMicros(row.rows[0].Int(3));
  last_interval_ = pace.interval;
  last_next_grant_ = replica_now + (pace.next_grant - pace.db_now);
  return pace;
}

absl::Status FleetBudget::ChangePace(const std::function<void(Pace&)>& change) {
  absl::MutexLock lock(&shared_mu_);
  FG_ASSIGN_OR_RETURN(PgDb* const db, SharedDb());
  return db->InTransaction([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(
        db->Query("SELECT 1 FROM fleet_budgets WHERE name = $1 FOR UPDATE", {options_.name})
            .status());
    FG_ASSIGN_OR_RETURN(Pace pace, ReadPace());
    const Pace before = pace;
    change(pace);
    pace.interval = std::clamp(pace.interval, options_.interval, options_.max_interval);
    if (pace.interval != before.interval) {
      pace.answers_in_a_row = 0;
      LogInfo(absl::StrCat("fleet budget ", options_.name, ": upstream request interval ",
                           absl::FormatDuration(before.interval), " -> ",
                           absl::FormatDuration(pace.interval)));
    }
    FG_RETURN_IF_ERROR(
        db->Query("UPDATE fleet_budgets SET raised_interval_micros = $2, answers_in_a_row = $3, "
                  "next_grant = " FG_MICROS_TO_TS("4") " WHERE name = $1",
                  {options_.name, absl::ToInt64Microseconds(pace.interval),
                   static_cast<int64_t>(pace.answers_in_a_row),
                   absl::ToUnixMicros(pace.next_grant)})
            .status());
    last_interval_ = pace.interval;
    last_next_grant_ += pace.next_grant - before.next_grant;
    return absl::OkStatus();
  });
}

void FleetBudget::OnThrottled() {
  absl::Status changed = ChangePace([](Pace& pace) {
    pace.next_grant = std::max(pace.next_grant, pace.db_now + pace.interval);
    pace.interval = std::max(2 * pace.interval, absl::Milliseconds(1));
    pace.answers_in_a_row = 0;  // Also at max_interval, where it stays.
  });
  if (!changed.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name, ": 429 not recorded: ",
                          StatusForLog(changed)));
  }
}

void FleetBudget::OnThrottled(absl::Duration retry_after) {
  absl::Status changed = ChangePace([retry_after](Pace& pace) {
    pace.next_grant =
        std::max(pace.next_grant, pace.db_now + std::max(retry_after, pace.interval));
    // As RequestPacer: whatever delay it names, a 429 says the pace is too
    // fast.
    pace.interval = std::max(2 * pace.interval, absl::Milliseconds(1));
    pace.answers_in_a_row = 0;  // Also at max_interval, where it stays.
  });
  if (!changed.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name, ": 429 not recorded: ",
                          StatusForLog(changed)));
  }
}

void FleetBudget::Promote(WaitTicket* ticket, int priority) {
  ticket->promoted_priority = priority;
  ticket->promoted = true;
  // The waiting Acquire (on any thread of this replica) applies the
  // promotion to its row at its next look; wake it now rather than at its
  // next recheck.
  absl::MutexLock lock(&shared_mu_);
  absl::StatusOr<PgDb*> db = SharedDb();
  absl::Status woken = db.ok() ? (*db)->Notify(channel(), "promoted") : db.status();
  if (!woken.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name,
                          ": promotion not announced (applied at the next recheck): ",
                          StatusForLog(woken)));
  }
}

void FleetBudget::OnAnswered() {
  absl::Status changed = ChangePace([this](Pace& pace) {
    if (pace.interval == options_.interval) return;
    if (++pace.answers_in_a_row < RequestPacer::kSuccessesToStepBack) return;
    pace.interval /= 2;
  });
  if (!changed.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name, ": answer not recorded: ",
                          StatusForLog(changed)));
  }
}

absl::Duration FleetBudget::interval() const {
  absl::MutexLock lock(&shared_mu_);
  absl::StatusOr<Pace> pace = ReadPace();
  if (!pace.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name, ": interval not read: ",
                          StatusForLog(pace.status())));
  }
  return last_interval_;
}

absl::Time FleetBudget::next_grant_time() const {
  absl::MutexLock lock(&shared_mu_);
  absl::StatusOr<Pace> pace = ReadPace();
  if (!pace.ok()) {
    LogError(absl::StrCat("fleet budget ", options_.name, ": next grant not read: ",
                          StatusForLog(pace.status())));
  }
  return last_next_grant_;
}

}  // namespace followgate
