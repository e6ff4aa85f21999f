// The follows and unfollows between two snapshots, read step by step.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FOLLOWER_CHANGES_SOURCE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FOLLOWER_CHANGES_SOURCE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "followgate/v1/follows.pb.h"
#include "server/base/message_source.h"
#include "server/follows/snapshot_store.h"

namespace followgate {

// The follows and unfollows between two complete snapshots of each of the
// request's sequences, in messages of up to 1000 changes; the last message
// (maybe empty) has last_page set. The pair: `to_snapshot_id` or the newest
// complete one; `from_snapshot_id`, or the newest complete at or before
// `from_time`, or the complete one before `to`. FAILED_PRECONDITION when a
// sequence has fewer than two complete snapshots (or one is deleted
// meanwhile); INVALID_ARGUMENT (naming the field) for ids with
// FOLLOWER_FILTER_ALL, from >= to, or an id of another query; NOT_FOUND for
// an id not retained or a from_time before every retained snapshot. Each Next() reads at most one stored page, so a long
// comparison shares its thread with other calls; it never waits (kMore,
// never kWait). Holds the older snapshot's followers in memory. `store` is
// not owned and must outlive it.
class FollowerChangesSource final : public MessageSource<v1::FollowerChangesPage> {
 public:
  FollowerChangesSource(SnapshotStore* store, v1::StreamFollowerChangesRequest request);

  absl::StatusOr<SourceStep<v1::FollowerChangesPage>> Next() override;
  std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) override;

 private:
  enum class Phase { kStart, kOlder, kNewer, kUnfollowed, kLast, kDone };

  absl::Status FindPairs();
  // Snapshot `id` of `query_key`, complete; errors name `field`.
  absl::StatusOr<SnapshotInfo> SnapshotById(const std::string& field, int64_t id,
                                            const std::string& query_key);
  absl::StatusOr<v1::FollowerPage> ReadPage(const SnapshotInfo& snapshot, int64_t seq);
  void Add(v1::FollowChangeType type, v1::FollowEdge edge);
  void Flush(bool last);
  absl::Status Work();

  SnapshotStore* const store_;
  const v1::StreamFollowerChangesRequest request_;

  Phase phase_ = Phase::kStart;
  // Per sequence: its newest complete snapshot, then the one before.
  std::vector<std::vector<SnapshotInfo>> pairs_;
  size_t pair_ = 0;  // The pair being compared.
  int64_t seq_ = 0;  // The next page to read of the snapshot being read.
  // The older snapshot's edges not (yet) seen in the newer one, by follower.
  absl::flat_hash_map<std::string, v1::FollowEdge> older_;
  absl::flat_hash_map<std::string, v1::FollowEdge>::iterator unfollowed_;
  v1::FollowerChangesPage page_;                 // Being filled.
  std::deque<v1::FollowerChangesPage> ready_;    // Full, not handed out yet.
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FOLLOWER_CHANGES_SOURCE_H_
