// Streams and lists the pages of follows requests from snapshots.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/follows_fetcher.h"
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

// One message of a stream, serialized: a stored page followed by the
// stream's own fields, or a heartbeat. Parses as a FollowerPage or a
// FollowingPage.
struct PageBytes {
  std::string bytes;
  std::string resume_token;  // "" for a heartbeat.
  bool heartbeat = false;
};

// Streams the plan's pages: `write` gets each page in order, with its
// sequence number, last-page flag, upstream wait and resume token set,
// without decoding the stored page. While no page comes for
// `heartbeat_interval`, it gets a heartbeat message instead. Returns the
// first error: the crawl's, `write`'s, INVALID_ARGUMENT for a token of
// another query or one `tokens` did not sign, FAILED_PRECONDITION for a
// token whose snapshot is gone. `tokens` signs and checks resume tokens.
absl::Status StreamPageBytes(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                             const ResumeTokenCodec& tokens, const ReadPlan& plan,
                             const CancellationToken& cancel,
                             const std::function<absl::Status(PageBytes)>& write);

// The same, decoded: Page is v1::FollowerPage or v1::FollowingPage.
template <typename Page>
absl::Status StreamPages(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                         const ResumeTokenCodec& tokens, const ReadPlan& plan,
                         const CancellationToken& cancel,
                         const std::function<absl::Status(Page)>& write);

// One ListFollowers page (AIP-158): up to `page_size` edges from the token's
// place (page tokens are signed and checked by `tokens`). Waits for pages
// still being fetched, until `cancel` fires.
absl::StatusOr<v1::ListFollowersResponse> ListFollowers(SnapshotHub* hub,
                                                        const ResumeTokenCodec& tokens,
                                                        const v1::ListFollowersRequest& request,
                                                        const Requester& who,
                                                        const CancellationToken& cancel);

// The follows and unfollows between the two newest complete snapshots of
// each of the request's sequences, in messages of up to 1000 changes.
// FAILED_PRECONDITION when a sequence has fewer than two complete snapshots
// (or one is deleted meanwhile). Holds the older snapshot's followers in
// memory.
absl::Status StreamFollowerChanges(SnapshotStore* store,
                                   const v1::StreamFollowerChangesRequest& request,
                                   const CancellationToken& cancel,
                                   const std::function<absl::Status(v1::FollowerChangesPage)>& write);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_
