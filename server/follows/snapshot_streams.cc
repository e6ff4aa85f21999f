#include "server/follows/snapshot_streams.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/error_details.h"
#include "server/follows/follows_requests.h"
#include "server/follows/resume_token.h"
#include "server/base/status_macros.h"

namespace followgate {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultListPageSize = 1000;
constexpr int kMaxListPageSize = 10000;

absl::StatusOr<std::optional<absl::Duration>> StalenessOf(
    bool has, const google::protobuf::Duration& value) {
  if (!has) return std::optional<absl::Duration>();
  FG_ASSIGN_OR_RETURN(absl::Duration staleness, RequestDuration("max_staleness", value));
  if (staleness < absl::ZeroDuration()) {
    return InvalidField("max_staleness", "max_staleness must not be negative");
  }
  return std::optional<absl::Duration>(staleness);
}

std::string Describe(const std::string& method, const std::vector<FollowsQuery>& sequences) {
  std::string description = method;
  for (const FollowsQuery& q : sequences) absl::StrAppend(&description, "|", SnapshotQueryKey(q));
  return description;
}

// Where a read starts: the token's place, checked against the plan.
absl::StatusOr<ResumePoint> StartOf(const ResumeTokenCodec& tokens, const ReadPlan& plan,
                                    absl::string_view field) {
  ResumePoint start;
  start.query_fingerprint = QueryFingerprint(plan.description);
  if (plan.resume_token.empty()) return start;
  FG_ASSIGN_OR_RETURN(ResumePoint point, tokens.Decode(field, plan.resume_token));
  if (point.query_fingerprint != start.query_fingerprint ||
      point.sequence_index >= static_cast<int>(plan.sequences.size())) {
    return WithErrorInfo(
        InvalidField(field, absl::StrCat(field, " belongs to another query; send it only "
                                                "with the request that produced it")),
        "RESUME_TOKEN_MISMATCH", {{"field", std::string(field)}});
  }
  return point;
}

// RESOURCE_EXHAUSTED with a RetryInfo when the next in line cannot start
// before `deadline` (the budget is held that long, e.g. after a Retry-After):
// waiting would only end in DEADLINE_EXCEEDED. Waits behind other callers
// are estimates, so only the first in line fails fast.
absl::Status CheckSlotBeforeDeadline(const QueuePosition& position, absl::Time now,
                                     absl::Time deadline) {
  if (position.ahead > 0 || now + position.estimated_wait <= deadline) return absl::OkStatus();
  return WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                        "LinkedIn's budget has no slot for this stream before its deadline: "
                        "the next request can start in ",
                        absl::FormatDuration(position.estimated_wait),
                        "; resume (resume_token) or retry after that")),
                    "BUDGET_HELD"),
      position.estimated_wait);
}

absl::StatusOr<std::unique_ptr<SnapshotLease>> LeaseFor(SnapshotHub* hub, const ReadPlan& plan,
                                                        const ResumePoint& start, int index) {
  if (index == start.sequence_index && start.snapshot_id != 0) {
    return hub->Reopen(start.snapshot_id, plan.sequences[index], plan.who);
  }
  return hub->Open(plan.sequences[index], plan.max_staleness, plan.who);
}

}  // namespace

absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowersRequest& request) {
  ReadPlan plan;
  FG_ASSIGN_OR_RETURN(plan.sequences, SequencesFor(request));
  FG_ASSIGN_OR_RETURN(plan.max_staleness,
                      StalenessOf(request.has_max_staleness(), request.max_staleness()));
  plan.description = Describe("followers", plan.sequences);
  plan.who.priority = request.priority();
  plan.resume_token = request.resume_token();
  return plan;
}

absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowingRequest& request) {
  ReadPlan plan;
  FG_ASSIGN_OR_RETURN(plan.sequences, SequencesFor(request));
  FG_ASSIGN_OR_RETURN(plan.max_staleness,
                      StalenessOf(request.has_max_staleness(), request.max_staleness()));
  plan.description = Describe("following", plan.sequences);
  plan.who.priority = request.priority();
  plan.resume_token = request.resume_token();
  return plan;
}

absl::Status StreamPageBytes(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                             const ResumeTokenCodec& tokens, const ReadPlan& plan,
                             const CancellationToken& cancel,
                             const std::function<absl::Status(PageBytes)>& write) {
  FG_ASSIGN_OR_RETURN(ResumePoint start, StartOf(tokens, plan, "resume_token"));
  int64_t stream_sequence = start.stream_sequence;
  const int sequences = static_cast<int>(plan.sequences.size());
  for (int i = start.sequence_index; i < sequences; ++i) {
    FG_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotLease> lease, LeaseFor(hub, plan, start, i));
    absl::Time asked = clock->Now();
    for (int64_t page = i == start.sequence_index ? start.page : 0;;) {
      FG_ASSIGN_OR_RETURN(SnapshotLease::PageWait wait,
                          lease->WaitForPage(page, clock->Now() + heartbeat_interval, cancel));
      if (wait.kind == SnapshotLease::PageWait::Kind::kEnd) break;
      // The stream's own fields; FollowingPage numbers them alike.
      v1::FollowerPage fields;
      if (wait.kind == SnapshotLease::PageWait::Kind::kTimeout) {
        v1::StreamHeartbeat* heartbeat = fields.mutable_heartbeat();
        if (std::optional<QueuePosition> position = lease->Position(); position.has_value()) {
          FG_RETURN_IF_ERROR(CheckSlotBeforeDeadline(*position, clock->Now(), plan.deadline));
          heartbeat->set_queue_position(position->ahead);
          *heartbeat->mutable_estimated_wait() = TimeUtil::NanosecondsToDuration(
              absl::ToInt64Nanoseconds(position->estimated_wait));
        }
        FG_RETURN_IF_ERROR(write({fields.SerializeAsString(), "", true}));
        continue;
      }
      ResumePoint next = start;
      next.sequence_index = i;
      next.snapshot_id = lease->snapshot_id();
      next.page = page + 1;
      next.edge_offset = 0;
      next.stream_sequence = stream_sequence + 1;
      // What this stream waited for the page, not what its fetch waited.
      const absl::Time now = clock->Now();
      *fields.mutable_upstream_wait() =
          TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(now - asked));
      asked = now;
      fields.set_sequence_number(stream_sequence++);
      fields.set_last_page(wait.last && i + 1 == sequences);
      fields.set_resume_token(tokens.Encode(next));
      PageBytes message;
      message.bytes = std::move(wait.page);
      fields.AppendToString(&message.bytes);
      message.resume_token = fields.resume_token();
      FG_RETURN_IF_ERROR(write(std::move(message)));
      ++page;
      if (wait.last) break;
    }
  }
  return absl::OkStatus();
}

template <typename Page>
absl::Status StreamPages(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                         const ResumeTokenCodec& tokens, const ReadPlan& plan,
                         const CancellationToken& cancel,
                         const std::function<absl::Status(Page)>& write) {
  return StreamPageBytes(hub, clock, heartbeat_interval, tokens, plan, cancel,
                         [&](PageBytes bytes) -> absl::Status {
                           Page page;
                           if (!page.ParseFromString(bytes.bytes)) {
                             return absl::DataLossError("a stored page is corrupt");
                           }
                           return write(std::move(page));
                         });
}

template absl::Status StreamPages<v1::FollowerPage>(
    SnapshotHub*, Clock*, absl::Duration, const ResumeTokenCodec&, const ReadPlan&,
    const CancellationToken&,
    const std::function<absl::Status(v1::FollowerPage)>&);
template absl::Status StreamPages<v1::FollowingPage>(
    SnapshotHub*, Clock*, absl::Duration, const ResumeTokenCodec&, const ReadPlan&,
    const CancellationToken&,
    const std::function<absl::Status(v1::FollowingPage)>&);

absl::StatusOr<v1::ListFollowersResponse> ListFollowers(SnapshotHub* hub,
                                                        const ResumeTokenCodec& tokens,
                                                        const v1::ListFollowersRequest& request,
                                                        const Requester& who,
                                                        const CancellationToken& cancel) {
  if (request.page_size() < 0) {
    return InvalidField("page_size", "page_size must not be negative");
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultListPageSize
                            : std::min(request.page_size(), kMaxListPageSize);
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request.followee());
  as_stream.set_follower_filter(request.follower_filter());
  if (request.has_max_staleness()) *as_stream.mutable_max_staleness() = request.max_staleness();
  FG_ASSIGN_OR_RETURN(ReadPlan plan, PlanFor(as_stream));
  plan.description = Describe("list", plan.sequences);
  plan.who = who;
  plan.resume_token = request.page_token();
  FG_ASSIGN_OR_RETURN(ResumePoint start, StartOf(tokens, plan, "page_token"));

  v1::ListFollowersResponse response;
  ResumePoint at = start;
  const int sequences = static_cast<int>(plan.sequences.size());
  for (int i = start.sequence_index; i < sequences; ++i) {
    FG_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotLease> lease, LeaseFor(hub, plan, start, i));
    at.sequence_index = i;
    at.snapshot_id = lease->snapshot_id();
    if (i != start.sequence_index) at.page = at.edge_offset = 0;
    for (;;) {
      FG_ASSIGN_OR_RETURN(SnapshotLease::PageWait wait,
                          lease->WaitForPage(at.page, absl::InfiniteFuture(), cancel));
      if (wait.kind != SnapshotLease::PageWait::Kind::kPage) break;  // kEnd
      v1::FollowerPage page;
      if (!page.ParseFromString(wait.page)) {
        return absl::DataLossError(absl::StrCat("page ", at.page, " of snapshot ",
                                                at.snapshot_id, " is corrupt"));
      }
      while (at.edge_offset < page.edges_size() && response.edges_size() < page_size) {
        *response.add_edges() = std::move(*page.mutable_edges(at.edge_offset++));
      }
      const bool page_used_up = at.edge_offset >= page.edges_size();
      if (page_used_up) {
        ++at.page;
        at.edge_offset = 0;
      }
      if (response.edges_size() >= page_size) {
        const bool nothing_after = page_used_up && wait.last && i + 1 == sequences;
        if (!nothing_after) response.set_next_page_token(tokens.Encode(at));
        return response;
      }
      if (page_used_up && wait.last) break;
    }
  }
  return response;
}

namespace {

// Calls `visit` for every edge of a complete snapshot, in order.
absl::Status ForEachEdge(SnapshotStore* store, const SnapshotInfo& snapshot,
                         const CancellationToken& cancel,
                         const std::function<void(v1::FollowEdge&)>& visit) {
  for (int64_t seq = 0; seq < snapshot.page_count; ++seq) {
    if (cancel.IsCancelled()) return absl::CancelledError("the reader went away");
    FG_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store->ReadPage(snapshot.id, seq));
    v1::FollowerPage page;
    if (!bytes.has_value()) {
      return absl::FailedPreconditionError("a snapshot was deleted while being compared");
    }
    if (!page.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("snapshot ", snapshot.id, " is corrupt"));
    }
    for (v1::FollowEdge& edge : *page.mutable_edges()) visit(edge);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StreamFollowerChanges(
    SnapshotStore* store, const v1::StreamFollowerChangesRequest& request,
    const CancellationToken& cancel,
    const std::function<absl::Status(v1::FollowerChangesPage)>& write) {
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request.followee());
  as_stream.set_follower_filter(request.follower_filter());
  FG_ASSIGN_OR_RETURN(std::vector<FollowsQuery> sequences, SequencesFor(as_stream));
  std::vector<std::vector<SnapshotInfo>> pairs;
  for (const FollowsQuery& query : sequences) {
    FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> newest,
                        store->NewestComplete(SnapshotQueryKey(query), 2));
    if (newest.size() < 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "comparing needs two complete snapshots of ", SnapshotQueryKey(query), "; there are ",
          newest.size(), ". Stream the followers again (with a small max_staleness) to take "
          "a new one"));
    }
    pairs.push_back(std::move(newest));
  }
  v1::FollowerChangesPage page;
  auto flush = [&](bool last) -> absl::Status {
    if (page.changes().empty() && !last) return absl::OkStatus();
    page.set_last_page(last);
    absl::Status written = write(std::move(page));
    page = v1::FollowerChangesPage();
    return written;
  };
  auto add = [&](v1::FollowChangeType type, v1::FollowEdge edge,
                 const std::vector<SnapshotInfo>& pair) -> absl::Status {
    if (page.changes().empty()) {
      *page.mutable_from_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(pair[1].started_at));
      *page.mutable_to_snapshot_time() = TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(pair[0].started_at));
    }
    v1::FollowChange* change = page.add_changes();
    change->set_change_type(type);
    *change->mutable_edge() = std::move(edge);
    return page.changes_size() >= 1000 ? flush(false) : absl::OkStatus();
  };
  for (const std::vector<SnapshotInfo>& pair : pairs) {
    absl::flat_hash_map<std::string, v1::FollowEdge> before;
    FG_RETURN_IF_ERROR(ForEachEdge(store, pair[1], cancel, [&](v1::FollowEdge& edge) {
      std::string urn = edge.follower().urn();
      before.emplace(std::move(urn), std::move(edge));
    }));
    absl::Status status;
    FG_RETURN_IF_ERROR(ForEachEdge(store, pair[0], cancel, [&](v1::FollowEdge& edge) {
      if (before.erase(edge.follower().urn()) == 0 && status.ok()) {
        status = add(v1::FOLLOW_CHANGE_TYPE_FOLLOWED, std::move(edge), pair);
      }
    }));
    FG_RETURN_IF_ERROR(status);
    for (auto& [urn, edge] : before) {
      FG_RETURN_IF_ERROR(add(v1::FOLLOW_CHANGE_TYPE_UNFOLLOWED, std::move(edge), pair));
    }
  }
  return flush(true);
}

}  // namespace followgate
