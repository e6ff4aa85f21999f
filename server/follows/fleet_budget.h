// The upstream rate limit shared by a fleet of replicas: one grant per
// interval per budget (one LinkedIn credential) for the whole fleet, kept in
// PostgreSQL and timed by the database's clock.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FLEET_BUDGET_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FLEET_BUDGET_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/request_pacer.h"
#include "server/follows/upstream_budget.h"

namespace followgate {

class PgDb;

struct FleetBudgetOptions {
  // The shared database: a libpq URL, and a password that overrides the
  // URL's when not empty.
  std::string url;
  std::string password;
  // Which budget: replicas that share a name share the grants.
  std::string name;
  // No two grants of the budget are closer than this (the minimum of the
  // adaptive interval). Zero is no pacing (a Retry-After still holds), as
  // in RequestPacer; negative is INVALID_ARGUMENT.
  absl::Duration interval = absl::Seconds(60);
  // The ceiling of the adaptive interval; below `interval` (e.g. the
  // default) means 8 times `interval`.
  absl::Duration max_interval = absl::ZeroDuration();
  // This replica, as the waiters table records it (for operators).
  std::string replica_id;
  // The longest a waiter sleeps before it looks at the queue again and
  // renews its row: it bounds how late a waiter learns of a change whose
  // notification it missed, and how long cancellation waits for a wake.
  absl::Duration recheck_interval = absl::Seconds(1);
  // A waiter's row counts as alive this long after its last renewal; a
  // replica that dies while waiting holds up nobody once this has passed.
  // Must exceed recheck_interval (several times, to tolerate slow queries).
  absl::Duration waiter_ttl = absl::Seconds(10);
  // The replica's clock, used only to turn a request's not_before into a
  // delay from now (the database keeps it on its own clock). Not owned;
  // nullptr means the real clock.
  Clock* clock = nullptr;
};

// Grants permission to start one upstream request so that, across every
// replica using the same database and budget name, no two grants are closer
// than `interval`. Waiters are served by the rule of RequestPacer
// (ChooseNextWaiter): among the waiters whose not_before has come, the
// highest priority first; within it callers take turns (round robin in the
// cyclic order of their names after the last granted caller), each caller's
// requests in arrival order, wherever they wait.
//
// Why two grants are never closer than the interval: the budget's row
// (next_grant, last_caller) is locked (SELECT ... FOR UPDATE) by every
// grant, so grants are serialised; a grant reads the database's clock
// (clock_timestamp()) after taking the lock, checks it is at or past
// next_grant, and sets next_grant to that time plus the interval in the
// same transaction. The next grant takes the lock only after that commit
// and reads the same clock later, so it cannot come sooner. The replicas'
// clocks take no part. A replica that dies right after a grant wastes that
// one slot and nothing more; one that dies while waiting leaves a row that
// is ignored (and deleted by the next waiter to look) once its alive_until,
// renewed every recheck_interval while waiting, has passed.
//
// The interval adapts to the upstream as RequestPacer's does (a 429 doubles
// it up to max_interval; RequestPacer::kSuccessesToStepBack answers in a row
// halve it, never below `interval`), but fleet-wide: the raised interval and
// the count of answers in a row live in the budget's row, changed under its
// row lock, so a 429 seen by one replica spaces every replica's grants, and
// OnThrottled(retry_after) holds them all until the database's now plus
// retry_after. interval() and next_grant_time() read the row; the latter is
// turned into the replica's clock by the offset between the database's now
// and the replica's, read in the same breath (so a skewed replica clock
// still waits the right length of time). These four calls use one
// connection of this budget's, shared in turn; when the database cannot be
// reached they log, OnThrottled and OnAnswered change nothing, and interval()
// and next_grant_time() answer what they last read (the minimum interval and
// no wait, before any read).
//
// Schema (component "fleet_budget" of server/storage/pg_migrations.h,
// migrated at Create, so replicas starting together take turns; version 2
// adds the adaptive interval): fleet_budgets (name, next_grant, last_caller,
// raised_interval_micros, answers_in_a_row) and
// fleet_budget_waiters (id, budget, replica, caller, priority, not_before,
// enqueued_at, alive_until). A grant or a departure is announced by NOTIFY
// on the budget's channel ("fleet_budget:" + name), which waiters LISTEN to.
//
// Thread-safe. Each Acquire opens a connection of its own for the time it
// waits (and closes it when it returns): waits are few (one per crawl) and
// a waiter blocks in WaitForNotification, which a shared connection could
// not serve. Errors: UNAVAILABLE (DATABASE_UNAVAILABLE) when the database
// cannot be reached or is lost meanwhile (the caller retries; a waiter's
// row left behind then expires), INVALID_ARGUMENT for bad options, and the
// other PgDb errors.
class FleetBudget : public UpstreamBudget {
 public:
  // Checks the options, creates the schema and the budget's row if missing.
  static absl::StatusOr<std::unique_ptr<FleetBudget>> Create(FleetBudgetOptions options);
  ~FleetBudget();

  // Blocks until this replica may start the request. OK: start it now (the
  // slot is used up); `granted_at` (optional) receives the database's time
  // of the grant. CANCELLED if `cancel` fired first: the waiter's row is
  // removed and nothing is spent. While it waits, `ticket` (optional) holds
  // its row's id, for PositionOf().
  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       absl::Time* granted_at = nullptr, WaitTicket* ticket = nullptr);
  // The same without the time of the grant (UpstreamBudget). No default for
  // `ticket`: Acquire(request, cancel) is the call above.
  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       WaitTicket* ticket) override;

  // Where the waiter with this ticket id stands, fleet-wide, as things stand
  // (for heartbeats): the live waiters granted before it and when it will
  // be granted, replaying the rule (at the interval in force) from the
  // database's state and clock. nullopt when it is not waiting. Uses the
  // budget's shared connection.
  absl::StatusOr<std::optional<QueuePosition>> ReadPosition(uint64_t ticket) const;
  // ReadPosition, with a failure logged and answered as nullopt.
  std::optional<QueuePosition> PositionOf(uint64_t ticket) const override;

  // The adaptive interval, fleet-wide (see above).
  void OnThrottled() override;
  void OnThrottled(absl::Duration retry_after) override;
  void OnAnswered() override;
  // Wakes the waiting Acquire, which applies the promotion to its row.
  void Promote(WaitTicket* ticket, int priority) override;
  absl::Duration interval() const override;
  absl::Time next_grant_time() const override;

  // The NOTIFY channel of this budget.
  std::string channel() const;
  const FleetBudgetOptions& options() const { return options_; }

 private:
  explicit FleetBudget(FleetBudgetOptions options);

  // What one look at the queue found (under the budget's row lock).
  struct Look {
    bool granted = false;
    absl::Time db_now;
    // How long to wait before looking again, when not granted.
    absl::Duration wait;
    // When granted: the slots left idle before it (IdleSlotsBefore).
    int64_t idle_slots = 0;
  };
  // Inserts this waiter's row; returns its id. `not_before_micros` is on the
  // database's clock.
  static absl::StatusOr<int64_t> InsertWaiter(PgDb& db, const FleetBudgetOptions& options,
                                              const PacerRequest& request,
                                              int64_t not_before_micros);
  // One transaction: renews the row, drops expired rows, grants if it is
  // this waiter's turn and time.
  absl::StatusOr<Look> LookOnce(PgDb& db, const PacerRequest& request,
                                int64_t not_before_micros, int64_t& waiter_id,
                                WaitTicket* ticket);
  // Removes the waiter's row and wakes the others (the turn may be theirs).
  absl::Status Leave(PgDb& db, int64_t waiter_id);

  // What the budget's row says of the pace, read under its lock.
  struct Pace {
    absl::Duration interval;  // In force: at least options_.interval.
    int answers_in_a_row = 0;
    absl::Time next_grant;  // The database's clock.
    absl::Time db_now;
  };
  // One transaction on the shared connection: locks the row, reads the
  // pace, lets `change` alter it and writes it back.
  absl::Status ChangePace(const std::function<void(Pace&)>& change);
  // Reads the pace (no lock) and remembers it for when the database is away.
  absl::StatusOr<Pace> ReadPace() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_mu_);
  // The shared connection, opened on first use.
  absl::StatusOr<PgDb*> SharedDb() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_mu_);

  const FleetBudgetOptions options_;
  mutable absl::Mutex shared_mu_;
  // Opened on first use; reconnects by itself after a loss.
  mutable std::unique_ptr<PgDb> shared_db_ ABSL_GUARDED_BY(shared_mu_);
  // The last pace read, on the replica's clock (next_grant converted).
  mutable absl::Duration last_interval_ ABSL_GUARDED_BY(shared_mu_);
  mutable absl::Time last_next_grant_ ABSL_GUARDED_BY(shared_mu_) = absl::InfinitePast();
  // Whether this replica granted before (idle slots count from its first).
  std::atomic<bool> granted_before_{false};
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FLEET_BUDGET_H_
