// Blocking reads of follows from snapshots, for callers with a thread to
// spare (tests, tools). The server drives the same sources from gRPC
// callbacks instead (see server/grpc/source_reactors.h).
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/page_stream_source.h"
#include "server/follows/read_plan.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// Streams the plan's pages (see PageStreamSource): `write` gets each page
// and each heartbeat; its first error, or the source's, ends the stream.
// CANCELLED when `cancel` fires.
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

// One ListFollowers page (see ListFollowersSource), waiting for pages still
// being fetched until `cancel` fires.
absl::StatusOr<v1::ListFollowersResponse> ListFollowers(SnapshotHub* hub,
                                                        const ResumeTokenCodec& tokens,
                                                        const v1::ListFollowersRequest& request,
                                                        const Requester& who,
                                                        const CancellationToken& cancel);

// The changes between snapshots (see FollowerChangesSource).
absl::Status StreamFollowerChanges(SnapshotStore* store,
                                   const v1::StreamFollowerChangesRequest& request,
                                   const CancellationToken& cancel,
                                   const std::function<absl::Status(v1::FollowerChangesPage)>& write);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SNAPSHOT_STREAMS_H_
