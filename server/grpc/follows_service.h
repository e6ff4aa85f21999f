// The gRPC edge of followgate.v1.FollowsService.
#ifndef FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_
#define FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_

#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "server/base/clock.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"
#include "server/follows/snapshot_store.h"
#include "server/grpc/call_scope.h"
#include "server/grpc/source_reactor.h"

namespace followgate {

// Admits each call through its CallScope (scope follows.read), then serves
// it from snapshots through a source driven by callbacks (see
// SourceDriver): no call holds a thread while it waits for pages. Thread-safe.
// `hub`, `store`, `clock` and `tokens` (signs and checks resume and page
// tokens) are not owned and must outlive every call, as must what `env` and
// `runtime` point to. StreamFollowers and StreamFollowing are raw methods:
// they send stored page bytes without decoding them (see PageStreamSource).
class FollowsServiceImpl final
    : public v1::FollowsService::WithRawCallbackMethod_StreamFollowers<
          v1::FollowsService::WithRawCallbackMethod_StreamFollowing<
              v1::FollowsService::CallbackService>> {
 public:
  FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                     absl::Duration heartbeat_interval, const ResumeTokenCodec* tokens,
                     const CallEnvironment& env, const CallRuntime& runtime);

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
  grpc::ServerUnaryReactor* ListSnapshots(grpc::CallbackServerContext* context,
                                          const v1::ListSnapshotsRequest* request,
                                          v1::ListSnapshotsResponse* response) override;

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
  const CallEnvironment env_;
  const CallRuntime runtime_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_FOLLOWS_SERVICE_H_
