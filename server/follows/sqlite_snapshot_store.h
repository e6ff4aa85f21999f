// The snapshot store of one process: a SQLite file under its state dir.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SQLITE_SNAPSHOT_STORE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SQLITE_SNAPSHOT_STORE_H_

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
#include "server/follows/snapshot_store.h"
#include "server/storage/sqlite_db.h"

namespace followgate {

// SnapshotStore in SQLite (WAL, synchronous commits): one row per snapshot,
// its pages and its cursors in two tables beside it. Each page is stored with
// the cursor after it in one transaction; ids come from AUTOINCREMENT, which
// never hands out an id again, even one whose row was deleted.
//
// Thread-safe (one connection behind a mutex). Errors: those of
// SnapshotStore; Open is UNAVAILABLE when the file cannot be opened.
class SqliteSnapshotStore final : public SnapshotStore {
 public:
  // Opens (creating if missing) the store in the file `path`; "" keeps the
  // snapshots in memory only (lost when the store is destroyed). `clock` is
  // not owned and must outlive the store.
  static absl::StatusOr<std::unique_ptr<SqliteSnapshotStore>> Open(const std::string& path,
                                                                   Clock* clock);

  absl::StatusOr<std::optional<SnapshotInfo>> Get(int64_t id) override;
  absl::StatusOr<std::optional<SnapshotInfo>> LatestComplete(
      const std::string& query_key) override;
  absl::StatusOr<std::optional<SnapshotInfo>> LatestInProgress(
      const std::string& query_key) override;
  absl::StatusOr<std::vector<SnapshotInfo>> NewestComplete(const std::string& query_key,
                                                           int count) override;
  absl::StatusOr<std::optional<SnapshotInfo>> NewestCompleteAtOrBefore(
      const std::string& query_key, absl::Time time) override;
  absl::StatusOr<std::vector<SnapshotInfo>> List(const std::string& query_key, int64_t before_id,
                                                 int limit) override;

  absl::StatusOr<SnapshotInfo> Create(const std::string& query_key) override;
  absl::Status AppendPage(int64_t id, int64_t seq, const std::string& page,
                          const std::string& next_cursor) override;
  absl::StatusOr<std::vector<std::string>> Cursors(int64_t id) override;
  absl::StatusOr<std::optional<std::string>> ReadPage(int64_t id, int64_t seq) override;

  absl::StatusOr<int> Prune(const RetentionLimits& limits, const std::set<int64_t>& in_use) override;

 private:
  SqliteSnapshotStore(std::unique_ptr<SqliteDb> db, Clock* clock)
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

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SQLITE_SNAPSHOT_STORE_H_
