#include "server/follows/fleet_budget.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the fleet budget interval must be positive, not ",
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
  FG_RETURN_IF_ERROR(ApplyMigrations(*db, "fleet_budget", {{1, kSchemaV1}}));
  FG_RETURN_IF_ERROR(
      db->Query("INSERT INTO fleet_budgets (name) VALUES ($1) ON CONFLICT DO NOTHING",
                {options.name})
          .status());
  return std::unique_ptr<FleetBudget>(new FleetBudget(std::move(options)));
}

FleetBudget::FleetBudget(FleetBudgetOptions options) : options_(std::move(options)) {}
FleetBudget::~FleetBudget() = default;

std::string FleetBudget::channel() const { return absl::StrCat("fleet_budget:", options_.name); }

absl::StatusOr<int64_t> FleetBudget::InsertWaiter(PgDb& db, const FleetBudgetOptions& options,
                                                  const PacerRequest& request,
                                                  int64_t not_before_micros) {
  FG_ASSIGN_OR_RETURN(
      PgResult inserted,
      db.Query("INSERT INTO fleet_budget_waiters "
               "(budget, replica, caller, priority, not_before, alive_until) "
               "VALUES ($1, $2, $3, $4, " FG_MICROS_TO_TS("5") ", "
               "clock_timestamp() + $6::bigint * interval '1 microsecond') RETURNING id",
               {options.name, options.replica_id, request.caller, request.priority,
                not_before_micros, absl::ToInt64Microseconds(options.waiter_ttl)}));
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
        db.Query("SELECT " FG_TS_TO_MICROS("next_grant") ", last_caller FROM fleet_budgets "
                 "WHERE name = $1 FOR UPDATE",
                 {name}));
    if (budget.rows.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the fleet budget \"", name, "\" has no row in fleet_budgets"));
    }
    const absl::Time next_grant = absl::FromUnixMicros(budget.rows[0].Int(0));
    const std::string last_caller = budget.rows[0].Text(1);
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
      FG_ASSIGN_OR_RETURN(waiter_id, InsertWaiter(db, options_, request, not_before_micros));
      if (ticket != nullptr) ticket->id = static_cast<uint64_t>(waiter_id);
    }

    FG_ASSIGN_OR_RETURN(
        PgResult rows,
        db.Query("SELECT id, caller, priority, " FG_TS_TO_MICROS("not_before")
                 " FROM fleet_budget_waiters WHERE budget = $1",
                 {name}));
    PacerWaiters waiters;
    for (const PgRow& row : rows.rows) {
      waiters.emplace(row.Int(0),
                      PacerWaiter{row.Text(1), static_cast<int>(row.Int(2)),
                                  absl::FromUnixMicros(row.Int(3))});
    }
    const uint64_t head = ChooseNextWaiter(waiters, last_caller, now);
    if (head == static_cast<uint64_t>(waiter_id) && now >= next_grant) {
      FG_RETURN_IF_ERROR(db.Query("UPDATE fleet_budgets SET next_grant = " FG_MICROS_TO_TS(
                                      "2") " + $3::bigint * interval '1 microsecond', "
                                           "last_caller = $4 WHERE name = $1",
                                  {name, now_micros, absl::ToInt64Microseconds(options_.interval),
                                   request.caller})
                             .status());
      FG_RETURN_IF_ERROR(
          db.Query("DELETE FROM fleet_budget_waiters WHERE id = $1", {waiter_id}).status());
      look.granted = true;
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
  FG_ASSIGN_OR_RETURN(int64_t waiter_id,
                      InsertWaiter(*db, options_, request, not_before_micros));
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

absl::StatusOr<std::optional<QueuePosition>> FleetBudget::PositionOf(uint64_t ticket) {
  absl::MutexLock lock(&position_mu_);
  if (position_db_ == nullptr) {
    FG_ASSIGN_OR_RETURN(position_db_, PgDb::Connect(options_.url, options_.password));
  }
  PgDb& db = *position_db_;
  PacerWaiters waiters;
  absl::Time next_grant, now;
  std::string last_caller;
  // One snapshot of the budget and its queue; no lock: a heartbeat must not
  // hold up grants.
  absl::Status read = db.InTransaction(
      [&]() -> absl::Status {
        FG_ASSIGN_OR_RETURN(
            PgResult budget,
            db.Query("SELECT " FG_TS_TO_MICROS("next_grant") ", last_caller, " FG_TS_TO_MICROS(
                         "clock_timestamp()") " FROM fleet_budgets WHERE name = $1",
                     {options_.name}));
        if (budget.rows.empty()) return absl::OkStatus();
        next_grant = absl::FromUnixMicros(budget.rows[0].Int(0));
        last_caller = budget.rows[0].Text(1);
        now = absl::FromUnixMicros(budget.rows[0].Int(2));
        FG_ASSIGN_OR_RETURN(
            PgResult rows,
            db.Query("SELECT id, caller, priority, " FG_TS_TO_MICROS("not_before")
                     " FROM fleet_budget_waiters WHERE budget = $1 AND alive_until > "
                     "clock_timestamp()",
                     {options_.name}));
        for (const PgRow& row : rows.rows) {
          waiters.emplace(row.Int(0), PacerWaiter{row.Text(1), static_cast<int>(row.Int(2)),
                                                  absl::FromUnixMicros(row.Int(3))});
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
    t += options_.interval;
  }
}

}  // namespace followgate
