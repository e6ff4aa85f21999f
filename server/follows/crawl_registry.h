// The fleet's view of the crawls of snapshots: which replica fetches a
// snapshot, what its crawl ended with, which snapshots readers hold, and
// when pages arrive.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_CRAWL_REGISTRY_H_
#define FOLLOWGATE_SERVER_FOLLOWS_CRAWL_REGISTRY_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"

namespace followgate {

// What SnapshotHub asks of the fleet (PgCrawlRegistry, in
// pg_crawl_registry.h). A hub without one (nullptr) is alone: its crawls are
// the only ones.
//
// The contract:
//  - At most one live replica leads (fetches) a snapshot: TryLead grants a
//    lease timed by one clock for the fleet (the database's), which the
//    registry renews in the background while it is held. A replica that
//    dies loses it after the lease duration; one that stalls may lose it
//    too, and learns it from StillLeading (the store's AppendPage accepts
//    only the next page, so even two writers cannot corrupt a snapshot).
//  - StopLeading releases the lease. A failure that another replica would
//    only repeat (see IsRecordedOutcome) is recorded with it: Outcome
//    returns it to the followers, which report it instead of leading.
//    TryLead with kLeadAgain takes the lease even when an outcome is
//    recorded (a new crawl tries again), and clears the outcome when it
//    does; with kLeaveIt (a crawl that has followed another replica's) it
//    leaves such a row alone, so an outcome recorded between a follower's
//    Outcome and TryLead is not fetched again.
//  - CallerWaits/WhenCallerWaits carry a caller's wait from a follower to
//    the leader, so that a background crawl (a watched page's, fetching
//    with idle slots only) fetches for callers once one waits for it on
//    any replica.
//  - Pin/Unpin count this replica's readers of a snapshot; while one is
//    pinned here (and this replica lives), the fleet's retention keeps it.
//  - WaitForChange returns when a page of the snapshot may have been
//    committed by any replica, `until` (on the hub's clock) passes, or
//    `cancel` fires; also after a bounded poll interval, so a lost
//    notification costs bounded delay. Callers re-read the store.
//
// Thread-safe.
class CrawlRegistry {
 public:
  CrawlRegistry() = default;
  virtual ~CrawlRegistry() = default;
  CrawlRegistry(const CrawlRegistry&) = delete;
  CrawlRegistry& operator=(const CrawlRegistry&) = delete;

  // What TryLead does with a snapshot whose last crawl recorded an outcome.
  enum class IfOutcomeRecorded {
    kLeadAgain,  // Takes the lease and clears the outcome: a new crawl.
    kLeaveIt,    // Returns false: the outcome is the answer (see Outcome).
  };
  // Becomes (or stays) the replica fetching `snapshot_id`: true when this
  // replica holds the lease now, false when another live replica does (or
  // an outcome is recorded and `recorded` is kLeaveIt).
  virtual absl::StatusOr<bool> TryLead(int64_t snapshot_id, IfOutcomeRecorded recorded) = 0;
  // Whether this replica still holds the lease (false once a renewal found
  // it taken or expired, or after StopLeading).
  virtual bool StillLeading(int64_t snapshot_id) = 0;
  // Releases the lease, recording `outcome` when IsRecordedOutcome(outcome).
  // Best effort: a failure is logged (the lease then expires by itself).
  virtual void StopLeading(int64_t snapshot_id, const absl::Status& outcome) = 0;
  // The recorded outcome of the snapshot's last crawl: OK when none is.
  virtual absl::StatusOr<absl::Status> Outcome(int64_t snapshot_id) = 0;
  // Whether a live replica (this one included) leads the snapshot's crawl.
  virtual absl::StatusOr<bool> CrawlLive(int64_t snapshot_id) = 0;

  // A caller (not a background refresh) at `priority` waits on this replica
  // for the snapshot's crawl: the replica leading it, wherever it runs,
  // hears of it through WhenCallerWaits. Kept with the crawl's lease until
  // the crawl ends (the highest priority announced). Best effort.
  virtual void CallerWaits(int64_t snapshot_id, int priority) = 0;
  // While this replica leads `snapshot_id`: runs `promote` once, with the
  // highest priority announced, as soon as a caller on any replica waits for
  // the crawl (CallerWaits, also one announced before this call). Runs on
  // the calling thread or a registry thread, never after StopLeading (or
  // Abandon) has returned.
  virtual void WhenCallerWaits(int64_t snapshot_id, std::function<void(int priority)> promote) = 0;

  // One more / one fewer local reader of `snapshot_id`. Best effort.
  virtual void Pin(int64_t snapshot_id) = 0;
  virtual void Unpin(int64_t snapshot_id) = 0;

  virtual void WaitForChange(int64_t snapshot_id, absl::Time until,
                             const CancellationToken& cancel) = 0;
};

// Whether a crawl's failure is recorded for the fleet: anything but OK and
// the failures that another replica's attempt may well not repeat (the
// readers left, the database or the lease was lost, a deadline).
inline bool IsRecordedOutcome(const absl::Status& outcome) {
  switch (outcome.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      return false;
    default:
      return true;
  }
}

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_CRAWL_REGISTRY_H_
