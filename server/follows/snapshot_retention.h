// Which complete snapshots SnapshotStore::Prune deletes: the rule both
// backends apply, as a pure function of what they read.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_RETENTION_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_RETENTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace followgate {

// What retention keeps (SnapshotHubOptions holds the configured values).
struct RetentionLimits {
  // Complete snapshots that started longer ago than this are deleted.
  absl::Duration max_age = absl::Hours(7 * 24);
  // Beyond this total size, the oldest are deleted (never a query's newest).
  int64_t max_bytes = int64_t{1} << 30;
  // How many of a query's newest complete snapshots are kept within
  // `max_age` besides the newest of each UTC day; at least 2, so that the
  // changes between the two newest can be computed.
  int keep_newest = 2;
};

// One complete snapshot as retention sees it.
struct RetentionCandidate {
  int64_t id = 0;
  std::string query_key;
  absl::Time started_at;
  absl::Time completed_at;
  int64_t bytes = 0;
  // Held by a reader or a crawl (this process's or, in PostgreSQL, a live
  // replica's): never deleted, yet counts as a snapshot of its query.
  bool held = false;
};

// The ids to delete, oldest first, among `complete` (every complete snapshot
// of every query, in any order); `total_bytes` is what all snapshots hold,
// in progress ones included. In order of id, a snapshot not held goes when
//  - it started more than `max_age` before `now` (even the newest of its
//    query: an old copy serves no caller), or
//  - it is neither among the `keep_newest` newest complete snapshots of its
//    query nor
//    the newest complete one of its query on its UTC day (by completed_at):
//    so changes between the two newest, and between the newest of each day
//    within the age, can still be computed, without a copy per crawl; or
//  - the snapshots still kept hold more than `max_bytes`, and it is not the
//    newest complete snapshot of its query.
// Thread-compatible (pure).
std::vector<int64_t> SnapshotsToPrune(std::vector<RetentionCandidate> complete,
                                      int64_t total_bytes, absl::Time now,
                                      const RetentionLimits& limits);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_RETENTION_H_
