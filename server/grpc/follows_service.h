// The gRPC edge of followgate.v1.FollowsService.
#ifndef FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_
#define FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_

#include <string>

#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "server/grpc/caller_auth.h"
#include "server/base/clock.h"
#include "server/grpc/page_stream_reactor.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// Authorizes each call (scope follows.read), validates its request, then
// serves it from snapshots. Thread-safe. `hub`, `store`, `clock`, `tokens`
// (signs and checks resume and page tokens), `auth` (may be null: no
// authentication) and `streams` are not owned and must outlive every call.
// StreamFollowers and StreamFollowing are raw methods: they send stored page
// bytes without decoding them (see StreamPageBytes).
class FollowsServiceImpl final
    : public v1::FollowsService::WithRawCallbackMethod_StreamFollowers<
          v1::FollowsService::WithRawCallbackMethod_StreamFollowing<
              v1::FollowsService::CallbackService>> {
 public:
  FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                     absl::Duration heartbeat_interval, const ResumeTokenCodec* tokens,
                     const CallerAuth* auth, StreamTracker* streams);

  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamFollowers(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamFollowing(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* ListFollowers(grpc::CallbackServerContext* context,
                                          const v1::ListFollowersRequest* request,
                                          v1::ListFollowersResponse* response) override;
  grpc::ServerWriteReactor<v1::FollowerChangesPage>* StreamFollowerChanges(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowerChangesRequest* request) override;

 private:
  template <typename Request>
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Stream(absl::string_view method,
                                                     grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* raw_request);

  SnapshotHub* const hub_;
  SnapshotStore* const store_;
  Clock* const clock_;
  const absl::Duration heartbeat_interval_;
  const ResumeTokenCodec* const tokens_;
  const CallerAuth* const auth_;
  StreamTracker* const streams_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_
