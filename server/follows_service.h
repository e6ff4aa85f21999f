// The gRPC edge of followgate.v1.FollowsService.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_

#include <string>

#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "server/caller_auth.h"
#include "server/clock.h"
#include "server/page_stream_reactor.h"
#include "server/snapshot_hub.h"

namespace followgate {

// Authorizes each call (scope follows.read), validates its request, then
// serves it from snapshots. Thread-safe. `hub`, `store`, `clock`, `auth`
// (may be null: no authentication) and `streams` are not owned and must
// outlive every call.
class FollowsServiceImpl final : public v1::FollowsService::CallbackService {
 public:
  FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                     absl::Duration heartbeat_interval, const CallerAuth* auth,
                     StreamTracker* streams);

  grpc::ServerWriteReactor<v1::FollowerPage>* StreamFollowers(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowersRequest* request) override;
  grpc::ServerWriteReactor<v1::FollowingPage>* StreamFollowing(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowingRequest* request) override;
  grpc::ServerUnaryReactor* ListFollowers(grpc::CallbackServerContext* context,
                                          const v1::ListFollowersRequest* request,
                                          v1::ListFollowersResponse* response) override;
  grpc::ServerWriteReactor<v1::FollowerChangesPage>* StreamFollowerChanges(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowerChangesRequest* request) override;

 private:
  template <typename Page, typename Request>
  grpc::ServerWriteReactor<Page>* Stream(absl::string_view method,
                                         grpc::CallbackServerContext* context,
                                         const Request& request, const std::string& urn);

  SnapshotHub* const hub_;
  SnapshotStore* const store_;
  Clock* const clock_;
  const absl::Duration heartbeat_interval_;
  const CallerAuth* const auth_;
  StreamTracker* const streams_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
