// What a read of follows asks for, once validated, and where it starts.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_READ_PLAN_H_
#define FOLLOWGATE_SERVER_FOLLOWS_READ_PLAN_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "server/follows/follows_fetcher.h"
#include "server/follows/request_pacer.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// What one read asks for, once validated.
struct ReadPlan {
  // The upstream sequences, in order (members, then pages, for "all").
  std::vector<FollowsQuery> sequences;
  // Identifies the query for resume tokens (see QueryFingerprint).
  std::string description;
  std::optional<absl::Duration> max_staleness;
  Requester who;
  // Where to start; "" for the beginning.
  std::string resume_token;
  // The call's deadline: a stream whose crawl cannot get a budget slot before
  // it (the budget is held after a Retry-After) ends at once with
  // RESOURCE_EXHAUSTED and a RetryInfo instead of waiting it out.
  absl::Time deadline = absl::InfiniteFuture();
};

// The plans of the API's requests. INVALID_ARGUMENT naming the bad field.
absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowersRequest& request);
absl::StatusOr<ReadPlan> PlanFor(const v1::StreamFollowingRequest& request);

// "method|key|key...": what a token's fingerprint is taken of.
std::string DescribeRead(absl::string_view method, const std::vector<FollowsQuery>& sequences);

// Where a read starts: the place of the plan's token (found in request field
// `field`), checked against the plan; the beginning without a token.
// INVALID_ARGUMENT (RESUME_TOKEN_MISMATCH) for a token of another query or
// one `tokens` did not sign.
absl::StatusOr<ResumePoint> StartOf(const ResumeTokenCodec& tokens, const ReadPlan& plan,
                                    absl::string_view field);

// The lease of sequence `index`: the token's snapshot for the sequence the
// read starts in, a fresh or new one for the others.
absl::StatusOr<std::unique_ptr<SnapshotLease>> LeaseFor(SnapshotHub* hub, const ReadPlan& plan,
                                                        const ResumePoint& start, int index);

// RESOURCE_EXHAUSTED (BUDGET_HELD) with a RetryInfo when the next in line
// cannot start before `deadline` (the budget is held that long, e.g. after a
// Retry-After): waiting would only end in DEADLINE_EXCEEDED. Waits behind
// other callers are estimates, so only the first in line fails fast.
absl::Status CheckSlotBeforeDeadline(const QueuePosition& position, absl::Time now,
                                     absl::Time deadline);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_READ_PLAN_H_
