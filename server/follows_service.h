// The gRPC edge of followgate.v1.FollowsService.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_

#include "followgate/v1/follows.grpc.pb.h"
#include "server/follows_fetcher.h"
#include "server/page_stream_reactor.h"

namespace followgate {

// Validates each request, then streams its pages from the fetcher. Thread-safe.
// `fetcher` is not owned and must outlive this. The destructor waits for open
// streams to end, so shut the grpc::Server down first.
class FollowsServiceImpl final : public v1::FollowsService::CallbackService {
 public:
  explicit FollowsServiceImpl(const FollowsFetcher* fetcher);
  ~FollowsServiceImpl() override;

  grpc::ServerWriteReactor<v1::FollowerPage>* StreamFollowers(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowersRequest* request) override;
  grpc::ServerWriteReactor<v1::FollowingPage>* StreamFollowing(
      grpc::CallbackServerContext* context,
      const v1::StreamFollowingRequest* request) override;

  // Waits up to `timeout` for open streams to end; returns whether all did.
  bool WaitForStreams(absl::Duration timeout);
  // Ends every open stream with `status`, stopping its upstream work.
  void AbortStreams(const absl::Status& status);

 private:
  const FollowsFetcher* const fetcher_;
  StreamTracker streams_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_SERVICE_H_
