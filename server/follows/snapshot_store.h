// Durable snapshots of follows queries: the pages fetched from LinkedIn.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/storage/sqlite_db.h"

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

// SQLite under the state dir (WAL, synchronous commits). A snapshot is the
// pages of one query (see SnapshotQueryKey) in upstream order, each stored as
// the serialized page message the streams send, plus where fetching goes on
// next: in progress until a page without a cursor is stored, then complete.
// Each page is stored with the cursor after it in one transaction, so a
// restart continues exactly after the last stored page.
//
// Thread-safe (one connection behind a mutex). Errors: RESOURCE_EXHAUSTED
// (STORAGE_FULL) when the disk is full (reads go on working), INTERNAL for
// other storage failures; UNAVAILABLE when the file cannot be opened.
class SnapshotStore {
 public:
  // `path` "" keeps the snapshots in memory only (lost on restart).
  static absl::StatusOr<std::unique_ptr<SnapshotStore>> Open(const std::string& path,
                                                             Clock* clock);

  absl::StatusOr<std::optional<SnapshotInfo>> Get(int64_t id);
  // The newest complete snapshot of `query_key`, if any.
  absl::StatusOr<std::optional<SnapshotInfo>> LatestComplete(const std::string& query_key);
  // The newest snapshot of `query_key` still in progress, if any.
  absl::StatusOr<std::optional<SnapshotInfo>> LatestInProgress(const std::string& query_key);
  // The two newest complete snapshots, newest first (fewer if fewer exist).
  absl::StatusOr<std::vector<SnapshotInfo>> NewestComplete(const std::string& query_key,
                                                           int count);

  absl::StatusOr<SnapshotInfo> Create(const std::string& query_key);
  // Stores page `seq` (which must be the next one) and the cursor after it;
  // an empty `next_cursor` completes the snapshot.
  absl::Status AppendPage(int64_t id, int64_t seq, const std::string& page,
                          const std::string& next_cursor);
  // The next cursors stored with the snapshot's pages, in page order (for
  // recognising a cursor LinkedIn repeats across a restart).
  absl::StatusOr<std::vector<std::string>> Cursors(int64_t id);
  // Page `seq`, or nullopt when it is not stored (yet).
  absl::StatusOr<std::optional<std::string>> ReadPage(int64_t id, int64_t seq);

  // Deletes complete snapshots older than `max_age`, then the oldest
  // complete ones until all snapshots together hold at most `max_bytes`;
  // never one in `in_use`, nor the newest complete snapshot of a query
  // younger than `max_age`. Returns how many were deleted.
  absl::StatusOr<int> Prune(absl::Duration max_age, int64_t max_bytes,
                            const std::set<int64_t>& in_use);

 private:
  SnapshotStore(std::unique_ptr<SqliteDb> db, Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  absl::StatusOr<std::optional<SnapshotInfo>> QueryOne(const std::string& sql,
                                                       const std::string& key, int64_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeleteLocked(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  // ReadPage's statement, prepared once: it runs for every page streamed.
  std::optional<SqliteStatement> read_page_ ABSL_GUARDED_BY(mu_);
  Clock* const clock_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STORE_H_
