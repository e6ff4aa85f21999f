// Durable snapshots of follows queries: the pages fetched from LinkedIn.
// The interface the hub, the readers and the services use; a backend
// implements it (SqliteSnapshotStore, in sqlite_snapshot_store.h, under the
// state dir; PgSnapshotStore, in pg_snapshot_store.h, shared by a fleet in
// PostgreSQL, where a lost database is UNAVAILABLE) and only the code that
// builds the server picks one.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/follows/snapshot_retention.h"

namespace followgate {

struct SnapshotInfo {
  int64_t id = 0;
  std::string query_key;
  bool complete = false;
  absl::Time started_at;
  absl::Time completed_at = absl::InfinitePast();
  // Where fetching continues (the last stored page's next cursor); "" before
  // the first page.
  std::string next_cursor;
  int64_t page_count = 0;
  int64_t bytes = 0;
};

// A snapshot is the pages of one query (see SnapshotQueryKey) in upstream
// order, each stored as the serialized page message the streams send, plus
// where fetching goes on next: in progress until a page without a cursor is
// stored, then complete.
//
// What every implementation keeps:
//  - Ids are positive and never given twice, not even after the snapshot
//    that had one was pruned and the store reopened: a resume token names its
//    snapshot by id, and must never resume in another snapshot's pages.
//  - Snapshots are ordered by id: a newer snapshot has a greater id, and
//    "newest" and "oldest" below mean by id.
//  - started_at and completed_at are the store's clock at Create and at the
//    completing AppendPage, kept to the microsecond; Create returns the
//    time as it reads back.
//  - AppendPage stores the page, the cursor after it and the snapshot's new
//    next_cursor, page_count and bytes together or not at all, so a restart
//    continues exactly after the last stored page.
//  - What a call stored is read back by every later call, also after the
//    store is opened again (unless the backend is in memory only).
//
// Thread-safe. Errors: RESOURCE_EXHAUSTED (reason STORAGE_FULL) when the
// storage is full (reads go on working), INTERNAL for other storage failures
// and for an AppendPage that is not the snapshot's next page.
class SnapshotStore {
 public:
  SnapshotStore() = default;
  virtual ~SnapshotStore() = default;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // The snapshot `id`, or nullopt when there is none (never made, or pruned).
  virtual absl::StatusOr<std::optional<SnapshotInfo>> Get(int64_t id) = 0;
  // The newest complete snapshot of `query_key`, if any.
  virtual absl::StatusOr<std::optional<SnapshotInfo>> LatestComplete(
      const std::string& query_key) = 0;
  // The newest snapshot of `query_key` still in progress, if any.
  virtual absl::StatusOr<std::optional<SnapshotInfo>> LatestInProgress(
      const std::string& query_key) = 0;
  // The `count` newest complete snapshots, newest first (fewer if fewer
  // exist).
  virtual absl::StatusOr<std::vector<SnapshotInfo>> NewestComplete(
      const std::string& query_key, int count) = 0;

  // The newest complete snapshot of `query_key` completed at or before
  // `time`, if any.
  virtual absl::StatusOr<std::optional<SnapshotInfo>> NewestCompleteAtOrBefore(
      const std::string& query_key, absl::Time time) = 0;
  // Snapshots of `query_key`, complete or in progress, newest first: those
  // with an id below `before_id` (every one when it is 0), at most `limit`.
  virtual absl::StatusOr<std::vector<SnapshotInfo>> List(const std::string& query_key,
                                                         int64_t before_id, int limit) = 0;

  // A new snapshot of `query_key`, in progress, without pages.
  virtual absl::StatusOr<SnapshotInfo> Create(const std::string& query_key) = 0;
  // The newest snapshot of `query_key` in progress, or (when there is none)
  // a new one made by Create: so callers opening a new query at the same
  // moment get one snapshot. A store shared by processes makes this atomic
  // (PgSnapshotStore); this default is atomic only for callers that
  // serialise it, as SnapshotHub does within its process.
  virtual absl::StatusOr<SnapshotInfo> CreateUnlessInProgress(const std::string& query_key) {
    absl::StatusOr<std::optional<SnapshotInfo>> in_progress = LatestInProgress(query_key);
    if (!in_progress.ok()) return in_progress.status();
    if (in_progress->has_value()) return **in_progress;
    return Create(query_key);
  }
  // Stores page `seq` (which must be the next one) and the cursor after it;
  // an empty `next_cursor` completes the snapshot. INTERNAL ("snapshot <id>
  // is not waiting for page <seq>"), storing nothing, when the snapshot is
  // unknown, complete, or waits for another page.
  virtual absl::Status AppendPage(int64_t id, int64_t seq, const std::string& page,
                                  const std::string& next_cursor) = 0;
  // The next cursors stored with the snapshot's pages, in page order (for
  // recognising a cursor LinkedIn repeats across a restart).
  virtual absl::StatusOr<std::vector<std::string>> Cursors(int64_t id) = 0;
  // Page `seq`, or nullopt when it is not stored (yet).
  virtual absl::StatusOr<std::optional<std::string>> ReadPage(int64_t id, int64_t seq) = 0;

  // How much a reader going through a snapshot page by page should read at
  // once with ReadPages: more than one page where every read is a round
  // trip to a server (PostgreSQL); one where a read costs no more than a
  // page's copy (SQLite, in process), so nothing is held ahead.
  struct ReadAhead {
    int64_t max_pages = 1;
    int64_t max_bytes = 0;
  };
  virtual ReadAhead read_ahead() const { return ReadAhead(); }
  // Pages `first_seq`, `first_seq` + 1, ... in order, each once: the stored
  // ones from `first_seq` on (pages are stored in order, so they are a
  // prefix), at most `max_pages` of them and, beyond the first, only while
  // all together hold at most `max_bytes`. Empty when page `first_seq` is
  // not stored (yet). A page stored while the call runs may or may not be
  // among them; the next call from the page after the last returned finds
  // it. This default reads page by page with ReadPage.
  virtual absl::StatusOr<std::vector<std::string>> ReadPages(int64_t id, int64_t first_seq,
                                                             int64_t max_pages,
                                                             int64_t max_bytes) {
    std::vector<std::string> pages;
    int64_t bytes = 0;
    for (int64_t seq = first_seq; seq - first_seq < max_pages; ++seq) {
      absl::StatusOr<std::optional<std::string>> page = ReadPage(id, seq);
      if (!page.ok()) return page.status();
      if (!page->has_value()) break;
      if (!pages.empty() && bytes + static_cast<int64_t>((*page)->size()) > max_bytes) break;
      bytes += static_cast<int64_t>((*page)->size());
      pages.push_back(**std::move(page));
    }
    return pages;
  }

  // Deletes the complete snapshots SnapshotsToPrune (snapshot_retention.h)
  // picks: those older than `max_age`; those neither among the
  // `keep_newest` newest of their query nor the newest of their query's UTC day; then the oldest
  // until all snapshots together hold at most `max_bytes`. Never one in
  // `in_use`, nor the newest complete snapshot of a query younger than
  // `max_age`. A deleted snapshot's pages and cursors go with it. Returns
  // how many were deleted.
  virtual absl::StatusOr<int> Prune(const RetentionLimits& limits,
                                    const std::set<int64_t>& in_use) = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_
