// Keeps the snapshots of chosen pages warm with budget slots nobody wants
// (--watch).
#ifndef FOLLOWGATE_SERVER_FOLLOWS_PAGE_WATCHER_H_
#define FOLLOWGATE_SERVER_FOLLOWS_PAGE_WATCHER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/snapshot_hub.h"
#include "server/follows/snapshot_store.h"

namespace followgate {

struct PageWatcherOptions {
  // Followee pages (canonical URNs), each watched for every follower kind
  // (members and organizational pages: two queries).
  std::vector<std::string> pages;
  // A watched query's snapshot is refreshed once its newest complete one
  // started longer ago than this.
  absl::Duration interval = absl::Hours(24);
  // After a failed refresh, the next try of that query waits this long, or
  // the failure's retry delay when longer; never longer than `interval`.
  absl::Duration failure_backoff = absl::Minutes(10);
};

// Parses --watch: comma-separated followee URNs, canonical and without
// repeats. INVALID_ARGUMENT naming the flag and the URN that is not one.
absl::StatusOr<std::vector<std::string>> ParseWatchedPages(const std::string& flag_value);

// One thread that refreshes the watched queries, one at a time, each when
// its snapshot is due: it opens the query through the hub as the caller
// "watch" with idle_only requests, so its crawl's requests wait for slots
// for which no caller is ready (PacerRequest::idle_only) and delay a caller
// by at most the one request already started. A caller that opens the same
// query while the watch crawls it joins that crawl, which then fetches for
// callers (UpstreamBudget::Promote). A fresh snapshot (another replica's, or
// a caller's) costs no request: the watch only moves its due time. In a
// fleet every replica may watch the same pages: the hub's crawl registry
// keeps one crawl per query.
//
// `hub`, `store` and `clock` are not owned and must outlive this.
class PageWatcher {
 public:
  // The caller name its requests wait under (logs, fairness).
  static constexpr char kCaller[] = "watch";

  PageWatcher(SnapshotHub* hub, SnapshotStore* store, Clock* clock, PageWatcherOptions options);
  // Stops: cancels the crawl the watch holds (which stops unless a caller
  // reads it too) and joins the thread.
  ~PageWatcher();
  PageWatcher(const PageWatcher&) = delete;
  PageWatcher& operator=(const PageWatcher&) = delete;

  void Start();

  // Refreshes finished so far (fresh ones found included), and failed; for
  // tests and logs.
  int64_t refreshes() const;
  int64_t failures() const;
  // Blocks until refreshes() + failures() reaches `rounds` (for tests).
  void AwaitRounds(int64_t rounds) const;

 private:
  struct Watched {
    FollowsQuery query;
    absl::Time due = absl::InfinitePast();
  };

  void Run();
  // Brings the query's snapshot up to date (waits for its crawl to end);
  // returns when the snapshot it ends with started.
  absl::StatusOr<absl::Time> Refresh(const FollowsQuery& query);
  // When to try a query again after `failure`.
  absl::Time RetryTime(const absl::Status& failure) const;

  SnapshotHub* const hub_;
  SnapshotStore* const store_;
  Clock* const clock_;
  const PageWatcherOptions options_;
  std::vector<Watched> watched_;  // Only the thread touches it.
  CancellationToken stop_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t refreshes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_PAGE_WATCHER_H_
