#include "server/follows/follower_changes_source.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/status_macros.h"
#include "server/follows/follows_requests.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kChangesPerMessage = 1000;

}  // namespace

FollowerChangesSource::FollowerChangesSource(SnapshotStore* store,
                                             v1::StreamFollowerChangesRequest request)
    : store_(store), request_(std::move(request)) {}

absl::Status FollowerChangesSource::FindPairs() {
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request_.followee());
  as_stream.set_follower_filter(request_.follower_filter());
  FG_ASSIGN_OR_RETURN(std::vector<FollowsQuery> sequences, SequencesFor(as_stream));
  for (const FollowsQuery& query : sequences) {
    FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> newest,
                        store_->NewestComplete(SnapshotQueryKey(query), 2));
    if (newest.size() < 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "comparing needs two complete snapshots of ", SnapshotQueryKey(query), "; there are ",
          newest.size(), ". Stream the followers again (with a small max_staleness) to take "
          "a new one"));
    }
    pairs_.push_back(std::move(newest));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FollowerPage> FollowerChangesSource::ReadPage(const SnapshotInfo& snapshot,
                                                                 int64_t seq) {
  FG_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->ReadPage(snapshot.id, seq));
  if (!bytes.has_value()) {
    return absl::FailedPreconditionError("a snapshot was deleted while being compared");
  }
  v1::FollowerPage page;
  if (!page.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("snapshot ", snapshot.id, " is corrupt"));
  }
  return page;
}

void FollowerChangesSource::Add(v1::FollowChangeType type, v1::FollowEdge edge) {
  const std::vector<SnapshotInfo>& pair = pairs_[pair_];
  if (page_.changes().empty()) {
    *page_.mutable_from_snapshot_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(pair[1].started_at));
    *page_.mutable_to_snapshot_time() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(pair[0].started_at));
  }
  v1::FollowChange* change = page_.add_changes();
  change->set_change_type(type);
  *change->mutable_edge() = std::move(edge);
  if (page_.changes_size() >= kChangesPerMessage) Flush(false);
}

void FollowerChangesSource::Flush(bool last) {
  page_.set_last_page(last);
  ready_.push_back(std::move(page_));
  page_ = v1::FollowerChangesPage();
}

// One step of the comparison: at most one page read, or one message's worth
// of unfollows.
absl::Status FollowerChangesSource::Work() {
  switch (phase_) {
    case Phase::kStart:
      FG_RETURN_IF_ERROR(FindPairs());
      phase_ = Phase::kOlder;
      return absl::OkStatus();
    case Phase::kOlder: {
      if (pair_ >= pairs_.size()) {
        phase_ = Phase::kLast;
        return absl::OkStatus();
      }
      const SnapshotInfo& older = pairs_[pair_][1];
      if (seq_ >= older.page_count) {
        seq_ = 0;
        phase_ = Phase::kNewer;
        return absl::OkStatus();
      }
      FG_ASSIGN_OR_RETURN(v1::FollowerPage page, ReadPage(older, seq_++));
      for (v1::FollowEdge& edge : *page.mutable_edges()) {
        std::string urn = edge.follower().urn();
        older_.emplace(std::move(urn), std::move(edge));
      }
      return absl::OkStatus();
    }
    case Phase::kNewer: {
      const SnapshotInfo& newer = pairs_[pair_][0];
      if (seq_ >= newer.page_count) {
        unfollowed_ = older_.begin();
        phase_ = Phase::kUnfollowed;
        return absl::OkStatus();
      }
      FG_ASSIGN_OR_RETURN(v1::FollowerPage page, ReadPage(newer, seq_++));
      for (v1::FollowEdge& edge : *page.mutable_edges()) {
        if (older_.erase(edge.follower().urn()) == 0) {
          Add(v1::FOLLOW_CHANGE_TYPE_FOLLOWED, std::move(edge));
        }
      }
      return absl::OkStatus();
    }
    case Phase::kUnfollowed:
      while (unfollowed_ != older_.end() && ready_.empty()) {
        Add(v1::FOLLOW_CHANGE_TYPE_UNFOLLOWED, std::move(unfollowed_->second));
        ++unfollowed_;
      }
      if (unfollowed_ == older_.end()) {
        older_.clear();
        ++pair_;
        seq_ = 0;
        phase_ = Phase::kOlder;
      }
      return absl::OkStatus();
    case Phase::kLast:
      Flush(true);
      phase_ = Phase::kDone;
      return absl::OkStatus();
    case Phase::kDone:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<SourceStep<v1::FollowerChangesPage>> FollowerChangesSource::Next() {
  using Step = SourceStep<v1::FollowerChangesPage>;
  if (ready_.empty() && phase_ != Phase::kDone) FG_RETURN_IF_ERROR(Work());
  Step step;
  if (!ready_.empty()) {
    step.kind = Step::Kind::kMessage;
    step.message = std::move(ready_.front());
    ready_.pop_front();
  } else if (phase_ != Phase::kDone) {
    step.kind = Step::Kind::kMore;
  }
  return step;
}

std::unique_ptr<WatchHandle> FollowerChangesSource::Watch(std::function<void()> wake) {
  wake();  // Never waits: there is nothing to watch.
  return nullptr;
}

}  // namespace followgate
