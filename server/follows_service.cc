#include "server/follows_service.h"

#include <utility>
#include <vector>

#include "server/follows_requests.h"

namespace followgate {
namespace {

// Streams `sequences` through `fetcher`, each page converted by `convert`.
template <typename Message, typename Convert>
grpc::ServerWriteReactor<Message>* StartStream(
    StreamTracker* streams, const FollowsFetcher* fetcher,
    absl::StatusOr<std::vector<FollowsQuery>> sequences, Convert convert) {
  if (!sequences.ok()) return new FailedStreamReactor<Message>(sequences.status());
  return new PageStreamReactor<Message>(
      streams, [fetcher, sequences = *std::move(sequences), convert](
                   const CancellationToken& cancel,
                   const typename PageStreamReactor<Message>::Write& write) {
        return fetcher->StreamSequences(
            sequences, cancel,
            [&](StreamedPage page) { return write(convert(page)); });
      });
}

}  // namespace

FollowsServiceImpl::FollowsServiceImpl(const FollowsFetcher* fetcher)
    : fetcher_(fetcher) {}

FollowsServiceImpl::~FollowsServiceImpl() { streams_.WaitUntilNoneLive(); }

bool FollowsServiceImpl::WaitForStreams(absl::Duration timeout) {
  return streams_.WaitUntilNoneLive(timeout);
}

void FollowsServiceImpl::AbortStreams(const absl::Status& status) {
  streams_.AbortAll(status);
}

grpc::ServerWriteReactor<v1::FollowerPage>* FollowsServiceImpl::StreamFollowers(
    grpc::CallbackServerContext* /*context*/,
    const v1::StreamFollowersRequest* request) {
  return StartStream<v1::FollowerPage>(&streams_, fetcher_, SequencesFor(*request),
                                       ToFollowerPage);
}

grpc::ServerWriteReactor<v1::FollowingPage>* FollowsServiceImpl::StreamFollowing(
    grpc::CallbackServerContext* /*context*/,
    const v1::StreamFollowingRequest* request) {
  return StartStream<v1::FollowingPage>(&streams_, fetcher_, SequencesFor(*request),
                                        ToFollowingPage);
}

}  // namespace followgate
