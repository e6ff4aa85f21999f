#include "server/follows/list_snapshots.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/error_details.h"
#include "server/base/status_macros.h"
#include "server/follows/follows_requests.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

absl::StatusOr<v1::ListSnapshotsResponse> ListSnapshots(SnapshotStore* store,
                                                        const v1::ListSnapshotsRequest& request) {
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request.followee());
  as_stream.set_follower_filter(request.follower_filter());
  FG_ASSIGN_OR_RETURN(std::vector<FollowsQuery> sequences, SequencesFor(as_stream));
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return InvalidField("page_size",
                        absl::StrCat("page_size must be 1 to ", kMaxPageSize, ", or unset"));
  }
  const int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  size_t sequence = 0;
  int64_t before_id = 0;
  if (!request.page_token().empty()) {
    std::vector<std::string> parts = absl::StrSplit(request.page_token(), '.');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &sequence) ||
        !absl::SimpleAtoi(parts[1], &before_id) || sequence >= sequences.size() ||
        before_id <= 0) {
      return InvalidField("page_token", "page_token is not a token of this request");
    }
  }
  v1::ListSnapshotsResponse response;
  for (; sequence < sequences.size(); ++sequence, before_id = 0) {
    const int wanted = page_size - response.snapshots_size();
    // One more than wanted tells whether another page follows.
    FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> infos,
                        store->List(SnapshotQueryKey(sequences[sequence]), before_id, wanted + 1));
    for (const SnapshotInfo& info : infos) {
      if (response.snapshots_size() == page_size) {
        response.set_next_page_token(
            absl::StrCat(sequence, ".", response.snapshots().rbegin()->snapshot_id()));
        return response;
      }
      v1::Snapshot* snapshot = response.add_snapshots();
      snapshot->set_snapshot_id(info.id);
      snapshot->set_edge_type(sequences[sequence].edge_type);
      snapshot->set_complete(info.complete);
      *snapshot->mutable_start_time() = ToProto(info.started_at);
      if (info.complete) *snapshot->mutable_complete_time() = ToProto(info.completed_at);
      snapshot->set_page_count(info.page_count);
      snapshot->set_stored_bytes(info.bytes);
    }
    if (response.snapshots_size() == page_size && sequence + 1 < sequences.size()) {
      // Full at a sequence's end: the next page starts with the next one.
      FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> next,
                          store->List(SnapshotQueryKey(sequences[sequence + 1]), 0, 1));
      if (!next.empty()) {
        response.set_next_page_token(absl::StrCat(sequence + 1, ".", next[0].id + 1));
      }
      return response;
    }
  }
  return response;
}

}  // namespace followgate
