// The gRPC edge of followgate.v1.FollowsService.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_

#include "followgate/v1/follows.grpc.pb.h"
#include "server/follows_fetcher.h"
#include "server/page_stream_reactor.h"

namespace followgate {

// Validates each request, then streams its pages from the fetcher. Thread-safe.
// `fetcher` and `streams` are not owned and must outlive every call.
class FollowsServiceImpl final : public v1::FollowsService::CallbackService {
 public:
  FollowsServiceImpl(const FollowsFetcher* fetcher, StreamTracker* streams);

  grpc::ServerWriteReactor<v1::FollowerPage>* StreamFollowers(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowersRequest* request) override;
  grpc::ServerWriteReactor<v1::FollowingPage>* StreamFollowing(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowingRequest* request) override;

 private:
  const FollowsFetcher* const fetcher_;
  StreamTracker* const streams_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
