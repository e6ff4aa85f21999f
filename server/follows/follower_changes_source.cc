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
// How many snapshots before `to` are looked at for a complete one (those in
// progress are few: one per query at a time, or a few abandoned ones).
constexpr int kOlderSearch = 16;

}  // namespace

FollowerChangesSource::FollowerChangesSource(SnapshotStore* store,
                                             v1::StreamFollowerChangesRequest request)
    : store_(store), request_(std::move(request)) {}

absl::StatusOr<SnapshotInfo> FollowerChangesSource::SnapshotById(const std::string& field,
                                                                int64_t id,
                                                                const std::string& query_key) {
  FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> found, store_->Get(id));
  if (!found.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(field, ": snapshot ", id, " is not retained (or never was)"));
  }
  if (found->query_key != query_key) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": snapshot ", id, " is not a snapshot of ", query_key));
  }
  if (!found->complete) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": snapshot ", id, " is still being fetched"));
  }
  return *std::move(found);
}

absl::Status FollowerChangesSource::FindPairs() {
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request_.followee());
  as_stream.set_follower_filter(request_.follower_filter());
  FG_ASSIGN_OR_RETURN(std::vector<FollowsQuery> sequences, SequencesFor(as_stream));
  if (request_.from_snapshot_id() < 0 || request_.to_snapshot_id() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        request_.from_snapshot_id() < 0 ? "from_snapshot_id" : "to_snapshot_id",
        " must be positive"));
  }
  const bool by_id = request_.from_snapshot_id() != 0 || request_.to_snapshot_id() != 0;
  if (by_id && sequences.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        request_.from_snapshot_id() != 0 ? "from_snapshot_id" : "to_snapshot_id",
        ": a snapshot id names one sequence; set follower_filter to "
        "FOLLOWER_FILTER_MEMBERS or FOLLOWER_FILTER_ORGANIZATIONAL_PAGES"));
  }
  if (request_.from_snapshot_id() != 0 && request_.has_from_time()) {
    return absl::InvalidArgumentError("from_time: set from_snapshot_id or from_time, not both");
  }
  if (request_.from_snapshot_id() != 0 && request_.to_snapshot_id() != 0 &&
      request_.from_snapshot_id() >= request_.to_snapshot_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "from_snapshot_id: ", request_.from_snapshot_id(),
        " is not older than to_snapshot_id ", request_.to_snapshot_id()));
  }
  for (const FollowsQuery& query : sequences) {
    const std::string key = SnapshotQueryKey(query);
    // Newer first, as pairs_ holds them.
    std::vector<SnapshotInfo> pair;
    if (request_.to_snapshot_id() != 0) {
      FG_ASSIGN_OR_RETURN(SnapshotInfo to,
                          SnapshotById("to_snapshot_id", request_.to_snapshot_id(), key));
      pair.push_back(std::move(to));
    } else {
      FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> newest, store_->LatestComplete(key));
      if (newest.has_value()) pair.push_back(*std::move(newest));
    }
    if (!pair.empty()) {
      if (request_.from_snapshot_id() != 0) {
        FG_ASSIGN_OR_RETURN(SnapshotInfo from,
                            SnapshotById("from_snapshot_id", request_.from_snapshot_id(), key));
        if (from.id >= pair[0].id) {
          return absl::InvalidArgumentError(
              absl::StrCat("from_snapshot_id: ", from.id,
                           " is not older than the newest complete snapshot ", pair[0].id));
        }
        pair.push_back(std::move(from));
      } else if (request_.has_from_time()) {
        const absl::Time from_time = absl::FromUnixMicros(
            TimeUtil::TimestampToMicroseconds(request_.from_time()));
        FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> from,
                            store_->NewestCompleteAtOrBefore(key, from_time));
        if (!from.has_value()) {
          return absl::NotFoundError(absl::StrCat(
              "from_time: no retained complete snapshot of ", query.urn, "'s ",
              v1::FollowEdgeType_Name(query.edge_type), " followers completed at or before ",
              absl::FormatTime(absl::RFC3339_full, from_time, absl::UTCTimeZone())));
        }
        if (from->id >= pair[0].id) {
          return absl::InvalidArgumentError(absl::StrCat(
              "from_time: the snapshot then (", from->id, ") is not older than snapshot ",
              pair[0].id));
        }
        pair.push_back(*std::move(from));
      } else {
        // The newest complete snapshot before `to`.
        FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> older,
                            store_->List(key, pair[0].id, kOlderSearch));
        for (SnapshotInfo& candidate : older) {
          if (candidate.complete) {
            pair.push_back(std::move(candidate));
            break;
          }
        }
      }
    }
    if (pair.size() < 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "comparing needs two complete snapshots of ", key, "; there are ", pair.size(),
          ". Stream the followers again (with a small max_staleness) to take a new one"));
    }
    pairs_.push_back(std::move(pair));
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
    page_.set_from_snapshot_id(pair[1].id);
    page_.set_to_snapshot_id(pair[0].id);
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
