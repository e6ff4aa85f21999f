// Shares upstream fetches among every reader of a query, through snapshots.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_HUB_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_HUB_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/base/message_source.h"
#include "server/follows/crawl_registry.h"
#include "server/follows/follows_fetcher.h"
#include "server/follows/follows_routes.h"
#include "server/follows/upstream_budget.h"
#include "server/follows/snapshot_store.h"

namespace followgate {

struct SnapshotHubOptions {
  // A complete snapshot younger than this is served without asking LinkedIn,
  // unless a request says otherwise.
  absl::Duration default_max_staleness = absl::Hours(6);
  // Retention (snapshot_retention.h).
  RetentionLimits retention;
  // Pages that all readers together may hold read ahead (see
  // SnapshotLease); beyond it, readers read one page at a time, so a crowd
  // of slow readers costs no more memory than without read-ahead.
  int64_t max_read_ahead_bytes = int64_t{64} << 20;
};

// The key of a query's snapshots, e.g.
// "followee:urn:li:organizationalPage:42:MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE".
std::string SnapshotQueryKey(const FollowsQuery& query);

class SnapshotLease;

// Serves reads of follows queries from snapshots, fetching each page from
// LinkedIn once for everyone. Opening a query pins a snapshot: a complete one
// fresh enough, or the one in progress, whose crawl (one thread, fetching
// page after page into the store through the fetcher and its pacer) starts
// or continues from its last stored cursor. Every reader of a query in
// progress shares that one crawl: a late reader reads the stored pages first,
// then waits for new ones. A crawl stops when its last reader lets go, and
// goes on from where it stopped the next time (also after a restart).
//
// With a CrawlRegistry (a fleet sharing the store), a query has one crawl
// for the fleet: a hub's crawl thread fetches only while the registry lets
// it lead (from the stored cursor, the snapshot read again first);
// otherwise it follows: it waits for a change (WaitForChange), reads the
// snapshot again, wakes its readers for the pages another replica stored,
// reports the leader's recorded failure, and tries to lead again every
// round, so a dead leader's crawl goes on here within the lease and a poll.
// A leader that loses its lease, or finds its next page stored by another
// replica, follows again. Local readers are pinned in the registry too, and
// Open creates a snapshot only when none of the query is in progress, in
// one step of the store (CreateUnlessInProgress). Without a registry
// (nullptr) the hub is alone, as with SQLite.
//
// A crawl fetches through the route of its query (FollowsRoutes: the
// credential that serves the page, and its budget); a query nothing serves
// is refused before anything is stored, while a fresh complete snapshot of
// it is still served.
//
// Thread-safe. `store`, `routes` (or `fetcher` and `pacer`), `clock` and
// `registry` are not owned and must outlive this; every lease must be
// destroyed before this is.
class SnapshotHub {
 public:
  SnapshotHub(SnapshotStore* store, const FollowsRoutes* routes, Clock* clock,
              SnapshotHubOptions options, CrawlRegistry* registry = nullptr);
  // One credential: every query through `fetcher` and `pacer`.
  SnapshotHub(SnapshotStore* store, const FollowsFetcher* fetcher, UpstreamBudget* pacer,
              Clock* clock, SnapshotHubOptions options, CrawlRegistry* registry = nullptr);
  ~SnapshotHub();

  // `max_staleness` unset: the default. The crawl, if one starts, fetches on
  // behalf of `who` (its caller and priority).
  absl::StatusOr<std::unique_ptr<SnapshotLease>> Open(
      const FollowsQuery& query, std::optional<absl::Duration> max_staleness,
      const Requester& who);
  // The snapshot a resume token points to. FAILED_PRECONDITION when it is
  // gone; INVALID_ARGUMENT when it belongs to another query.
  absl::StatusOr<std::unique_ptr<SnapshotLease>> Reopen(int64_t snapshot_id,
                                                        const FollowsQuery& query,
                                                        const Requester& who);

  // Applies the retention limits (never to a pinned snapshot).
  absl::Status Prune();

  // The clock its crawls and readers wait by.
  Clock* clock() const { return clock_; }

 private:
  friend class SnapshotLease;
  struct Crawl;
  class CrawlWatch;

  // Opens a lease on `info` (a crawl for it starts unless it is complete or
  // crawling already).
  absl::StatusOr<std::unique_ptr<SnapshotLease>> LeaseLocked(const SnapshotInfo& info,
                                                             const FollowsQuery& query,
                                                             const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(open_mu_);
  // Whether the snapshot's crawl is fetching (not stopped or stopping).
  bool CrawlRunning(int64_t snapshot_id) ABSL_LOCKS_EXCLUDED(mu_);
  void RunCrawl(Crawl* crawl, std::string cursor);
  // Fetches from `cursor` into the store until the end, a failure, or (with
  // a registry) the lead is lost: ABORTED.
  absl::Status LeadCrawl(Crawl* crawl, std::string cursor);
  // With a registry: leads or follows until the snapshot is complete, fails,
  // or the crawl is cancelled.
  absl::Status CoordinateCrawl(Crawl* crawl);
  // Reads the snapshot again and wakes the readers its new pages let on;
  // whether it is complete.
  absl::StatusOr<bool> Refresh(Crawl* crawl);
  void Release(int64_t snapshot_id, const std::shared_ptr<Crawl>& crawl);
  // A caller at `priority` waits for the watch crawl (`who` idle-only): it
  // fetches for callers from now on, its request waiting included, to its
  // end. Once per crawl; does nothing for a caller's crawl. `where` says
  // where the caller waits, for the log.
  void PromoteWatchCrawl(Crawl* crawl, int priority, absl::string_view where);
  // Whether the crawl fetches for callers (not, or no longer, idle-only).
  bool ForCallers(const Crawl& crawl);
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SnapshotStore* const store_;
  const std::unique_ptr<FollowsRoutes> own_routes_;  // Set by the one-credential constructor.
  const FollowsRoutes* const routes_;
  Clock* const clock_;
  const SnapshotHubOptions options_;
  // Bytes of pages the leases hold read ahead, all together.
  std::atomic<int64_t> read_ahead_bytes_{0};
  CrawlRegistry* const registry_;  // Null: alone.

  // Serialises Open/Reopen, so that one query never gets two crawls.
  absl::Mutex open_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::map<int64_t, std::shared_ptr<Crawl>> crawls_ ABSL_GUARDED_BY(mu_);  // By snapshot.
  std::map<int64_t, int> pins_ ABSL_GUARDED_BY(mu_);                       // Leases per snapshot.
};

// A reader's hold on one snapshot: keeps it from being pruned and its crawl
// going. Reads stored pages as the store's read_ahead() says: with more
// than one page, it reads the next stored pages at once (never more than the
// crawl has announced) and holds them, up to that many pages and bytes, for
// the reader's next TryPage calls, while all readers of the hub together
// hold less than SnapshotHubOptions::max_read_ahead_bytes. Thread-compatible
// (one reader).
class SnapshotLease {
 public:
  ~SnapshotLease();
  SnapshotLease(const SnapshotLease&) = delete;
  SnapshotLease& operator=(const SnapshotLease&) = delete;

  int64_t snapshot_id() const { return snapshot_id_; }

  struct PageWait {
    // kTimeout: the page is not stored yet (still being fetched).
    enum class Kind { kPage, kEnd, kTimeout };
    Kind kind = Kind::kEnd;
    std::string page;   // kPage: the stored page.
    bool last = false;  // kPage: the snapshot's last page.
  };

  // Waits until page `seq` is stored (kPage), the snapshot turns out to end
  // before it (kEnd), or `until` passes (kTimeout). Errors: the crawl's
  // failure (e.g. NOT_FOUND from LinkedIn); CANCELLED when `cancel` fires;
  // UNAVAILABLE when the crawl was stopped.
  absl::StatusOr<PageWait> WaitForPage(int64_t seq, absl::Time until,
                                       const CancellationToken& cancel);
  // The same without waiting: kTimeout when page `seq` is not stored yet.
  // Reads the store, never waits for the crawl.
  absl::StatusOr<PageWait> TryPage(int64_t seq);
  // Runs `wake` once when page `seq` is stored or the crawl ends: on the
  // crawl's thread, or at once on this one if either holds already (then it
  // returns null). See WatchHandle for what destroying the handle does.
  std::unique_ptr<WatchHandle> WatchPage(int64_t seq, std::function<void()> wake);

  // Where the crawl's next upstream request stands; nullopt when it is not
  // waiting for the budget (complete, or a request in flight).
  std::optional<QueuePosition> Position() const;

 private:
  friend class SnapshotHub;
  SnapshotLease(SnapshotHub* hub, int64_t snapshot_id, std::shared_ptr<SnapshotHub::Crawl> crawl,
                int64_t page_count)
      : hub_(hub), snapshot_id_(snapshot_id), crawl_(std::move(crawl)), page_count_(page_count) {}

  // Stored page `seq`, of the `stored` pages announced: from the pages read
  // ahead, or read now (with those after it, as read_ahead() allows).
  absl::StatusOr<std::optional<std::string>> ReadStored(int64_t seq, int64_t stored);
  // Drops the pages read ahead, giving their bytes back to the hub.
  void DropAhead();

  SnapshotHub* const hub_;
  const int64_t snapshot_id_;
  const std::shared_ptr<SnapshotHub::Crawl> crawl_;  // Null: the snapshot is complete.
  const int64_t page_count_;                          // For a complete snapshot.
  // Pages read ahead: ahead_[i] is page ahead_first_ + i.
  std::deque<std::string> ahead_;
  int64_t ahead_first_ = 0;
  int64_t ahead_bytes_ = 0;  // The sizes of ahead_'s pages, counted in the hub.
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_HUB_H_
