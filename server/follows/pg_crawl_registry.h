// The crawl registry of a fleet of replicas sharing PostgreSQL.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_PG_CRAWL_REGISTRY_H_
#define FOLLOWGATE_SERVER_FOLLOWS_PG_CRAWL_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/crawl_registry.h"

namespace followgate {

class PgDb;

struct PgCrawlRegistryOptions {
  // The shared database (the one of PgSnapshotStore): a libpq URL, and a
  // password that overrides the URL's when not empty.
  std::string url;
  std::string password;
  // This replica, unique in the fleet: the owner of its leases and pins.
  std::string replica_id;
  // A lease (and a pin) lives this long after its last renewal, by the
  // database's clock; renewals come every lease / 3.
  absl::Duration lease = absl::Seconds(15);
  // WaitForChange returns at least this often (a lost notification costs
  // at most this much delay).
  absl::Duration poll_interval = absl::Seconds(1);
  // The hub's clock, which WaitForChange's `until` is on. Not owned;
  // nullptr means the real clock.
  Clock* clock = nullptr;
};

// CrawlRegistry in the tables of PgSnapshotStore's schema version 2
// (crawl_leases, snapshot_pins; MigrateSnapshotSchema).
//
// Leases: TryLead is one statement that inserts the snapshot's row, or
// takes it over when this replica owns it already or its lease_until has
// passed by clock_timestamp(); so of two replicas at most one gets it, and
// a dead replica's lease is free `lease` after its last renewal. A
// background thread renews this replica's leases and pins every lease / 3
// (one UPDATE each); a lease it finds gone or owned by another replica is
// dropped, and StillLeading turns false. StopLeading deletes the row, or,
// for a recorded outcome, keeps it expired with outcome_code and
// outcome_message (the status's details are not kept); the same statement
// that takes an expired lease checks outcome_code, so a follower asking
// with kLeaveIt cannot take over a crawl whose outcome was recorded an
// instant before.
//
// Callers waiting: CallerWaits raises the lease row's caller_priority
// (schema version 4) and notifies kPgSnapshotPagesChannel with the
// snapshot's id. The leader checks the row when WhenCallerWaits registers,
// when its listener hears of the snapshot, and at each renewal (so a lost
// notification costs at most lease / 3). A lease taken over from a dead
// leader keeps caller_priority; one taken after a recorded outcome (a new
// crawl) starts without.
//
// Pins: one row per (snapshot, replica) while this replica has readers of
// it, alive_until renewed with the leases; PgSnapshotStore::Prune keeps
// every snapshot with a live pin or lease.
//
// Changes: one connection LISTENs to kPgSnapshotPagesChannel on a thread of
// its own, and wakes the WaitForChange calls of the notified snapshot.
//
// Thread-safe. Calls other than WaitForChange share one connection in
// turn. Errors: PgDb's (UNAVAILABLE when the database is away; the call
// after reconnects).
class PgCrawlRegistry final : public CrawlRegistry {
 public:
  // Checks the options (INVALID_ARGUMENT naming the field), migrates the
  // schema and starts the renewal and listener threads.
  static absl::StatusOr<std::unique_ptr<PgCrawlRegistry>> Create(PgCrawlRegistryOptions options);
  // Stops the threads; releases nothing (leases and pins expire), as a
  // replica that dies would.
  ~PgCrawlRegistry() override;

  absl::StatusOr<bool> TryLead(int64_t snapshot_id, IfOutcomeRecorded recorded) override;
  bool StillLeading(int64_t snapshot_id) override;
  void StopLeading(int64_t snapshot_id, const absl::Status& outcome) override;
  absl::StatusOr<absl::Status> Outcome(int64_t snapshot_id) override;
  absl::StatusOr<bool> CrawlLive(int64_t snapshot_id) override;
  void CallerWaits(int64_t snapshot_id, int priority) override;
  void WhenCallerWaits(int64_t snapshot_id, std::function<void(int priority)> promote) override;
  void Pin(int64_t snapshot_id) override;
  void Unpin(int64_t snapshot_id) override;
  void WaitForChange(int64_t snapshot_id, absl::Time until,
                     const CancellationToken& cancel) override;

  // As if the replica died: stops renewing and listening, and makes every
  // later call fail (UNAVAILABLE) or do nothing, leaving the rows to expire.
  void Abandon();

 private:
  PgCrawlRegistry(PgCrawlRegistryOptions options, std::unique_ptr<PgDb> db,
                  std::unique_ptr<PgDb> listen_db);
  // Waits up to `timeout` for the threads to be told to stop; true if so.
  bool WaitStopped(absl::Duration timeout);
  void RenewLoop();
  void ListenLoop();
  // Renews the leases and pins; returns the callers' priorities found on
  // the leases renewed (by snapshot).
  absl::StatusOr<std::map<int64_t, int>> RenewOnce();
  // Runs the promotion registered for `snapshot_id` if a caller waits for it.
  void CheckCallerWaits(int64_t snapshot_id);
  // Runs (and drops) the promotion registered for `snapshot_id`, if any.
  void Promote(int64_t snapshot_id, int priority);
  bool PromotionPending(int64_t snapshot_id);

  const PgCrawlRegistryOptions options_;
  CancellationToken stop_;

  absl::Mutex db_mu_;
  const std::unique_ptr<PgDb> db_ ABSL_GUARDED_BY(db_mu_);
  bool abandoned_ ABSL_GUARDED_BY(db_mu_) = false;
  std::set<int64_t> leading_ ABSL_GUARDED_BY(db_mu_);
  std::map<int64_t, int> pins_ ABSL_GUARDED_BY(db_mu_);  // Local readers per snapshot.

  // Held while a promotion runs, so that StopLeading, dropping one, waits
  // for it. Taken before db_mu_, never while holding it.
  absl::Mutex promote_mu_;
  std::map<int64_t, std::function<void(int)>> promotions_ ABSL_GUARDED_BY(promote_mu_);

  absl::Mutex change_mu_;
  // Of the snapshots someone waits for: notifications seen, and waiters.
  struct Watched {
    uint64_t changes = 0;
    int waiters = 0;
  };
  std::map<int64_t, Watched> changes_ ABSL_GUARDED_BY(change_mu_);
  bool stopped_ ABSL_GUARDED_BY(change_mu_) = false;
  std::unique_ptr<PgDb> listen_db_;  // The listener thread's.

  std::thread renewer_;
  std::thread listener_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_PG_CRAWL_REGISTRY_H_
