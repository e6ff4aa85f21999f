#include "server/follows/read_plan.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/status_macros.h"
#include "server/follows/follows_requests.h"

namespace followgate {
namespace {

absl::StatusOr<std::optional<absl::Duration>> StalenessOf(
    bool has, const google::protobuf::Duration& value) {
  if (!has) return std::optional<absl::Duration>();
  FG_ASSIGN_OR_RETURN(absl::Duration staleness, RequestDuration("max_staleness", value));
  if (staleness < absl::ZeroDuration()) {
    return InvalidField("max_staleness", "max_staleness must not be negative");
  }
  return std::optional<absl::Duration>(staleness);
}

// StreamFollowersRequest and StreamFollowingRequest share these fields.
template <typename Request>
absl::StatusOr<ReadPlan> PlanOf(const Request& request, absl::string_view method) {
  ReadPlan plan;
  FG_ASSIGN_OR_RETURN(plan.sequences, SequencesFor(request));
  FG_ASSIGN_OR_RETURN(plan.max_staleness,
                      StalenessOf(request.has_max_staleness(), request.max_staleness()));
  plan.description = DescribeRead(method, plan.sequences);
  plan.who.priority = request.priority();
  plan.resume_token = request.resume_token();
  return plan;
}

}  // namespace

absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowersRequest& request) {
  return PlanOf(request, "followers");
}

absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowingRequest& request) {
  return PlanOf(request, "following");
}

std::string DescribeRead(absl::string_view method, const std::vector<FollowsQuery>& sequences) {
  std::string description(method);
  for (const FollowsQuery& q : sequences) absl::StrAppend(&description, "|", SnapshotQueryKey(q));
  return description;
}

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

absl::StatusOr<std::unique_ptr<SnapshotLease>> LeaseFor(SnapshotHub* hub, const ReadPlan& plan,
                                                        const ResumePoint& start, int index) {
  if (index == start.sequence_index && start.snapshot_id != 0) {
    return hub->Reopen(start.snapshot_id, plan.sequences[index], plan.who);
  }
  return hub->Open(plan.sequences[index], plan.max_staleness, plan.who);
}

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

}  // namespace followgate
