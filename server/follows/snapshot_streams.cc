#include "server/follows/snapshot_streams.h"

#include <optional>
#include <utility>

#include "server/base/message_source.h"
#include "server/follows/follower_changes_source.h"
#include "server/follows/list_followers_source.h"

namespace followgate {

absl::Status StreamPageBytes(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                             const ResumeTokenCodec& tokens, const ReadPlan& plan,
                             const CancellationToken& cancel,
                             const std::function<absl::Status(PageBytes)>& write) {
  PageStreamSource source(hub, clock, heartbeat_interval, &tokens, plan);
  return DrainSource<PageBytes>(source, clock, cancel, write);
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
    const CancellationToken&, const std::function<absl::Status(v1::FollowerPage)>&);
template absl::Status StreamPages<v1::FollowingPage>(
    SnapshotHub*, Clock*, absl::Duration, const ResumeTokenCodec&, const ReadPlan&,
    const CancellationToken&, const std::function<absl::Status(v1::FollowingPage)>&);

absl::StatusOr<v1::ListFollowersResponse> ListFollowers(SnapshotHub* hub,
                                                        const ResumeTokenCodec& tokens,
                                                        const v1::ListFollowersRequest& request,
                                                        const Requester& who,
                                                        const CancellationToken& cancel) {
  ListFollowersSource source(hub, &tokens, request, who);
  std::optional<v1::ListFollowersResponse> answer;
  absl::Status status = DrainSource<v1::ListFollowersResponse>(
      source, hub->clock(), cancel, [&](v1::ListFollowersResponse response) {
        answer = std::move(response);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return *std::move(answer);
}

absl::Status StreamFollowerChanges(
    SnapshotStore* store, const v1::StreamFollowerChangesRequest& request,
    const CancellationToken& cancel,
    const std::function<absl::Status(v1::FollowerChangesPage)>& write) {
  FollowerChangesSource source(store, request);
  return DrainSource<v1::FollowerChangesPage>(source, Clock::Real(), cancel, write);
}

}  // namespace followgate
