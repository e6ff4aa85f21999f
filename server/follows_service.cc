#include "server/follows_service.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/follows_requests.h"
#include "server/log.h"

namespace followgate {
namespace {

// Streams `sequences` through `fetcher`, each page converted by `convert`.
// One line per finished stream: who, what, outcome, volume, duration.
void LogStreamEnd(absl::string_view method, const std::string& peer,
                  absl::string_view urn, const absl::Status& status, int64_t pages,
                  int64_t edges, absl::Duration elapsed) {
  // The URN is the caller's input: escaped and bounded so it cannot forge
  // log lines.
  LogInfo(absl::StrCat(method, " \"", absl::CEscape(urn.substr(0, 300)), "\" from ", peer, " ended ",
                       absl::StatusCodeToString(status.code()), " after ", pages,
                       " pages, ", edges, " edges, ", absl::FormatDuration(elapsed),
                       status.ok() ? "" : ": ", status.message()));
}

template <typename Message, typename Convert>
grpc::ServerWriteReactor<Message>* StartStream(
    absl::string_view method, grpc::CallbackServerContext* context,
    StreamTracker* streams, const FollowsFetcher* fetcher, const std::string& urn,
    absl::StatusOr<std::vector<FollowsQuery>> sequences, Convert convert) {
  if (!sequences.ok()) {
    LogStreamEnd(method, context->peer(), urn, sequences.status(), 0, 0,
                 absl::ZeroDuration());
    return new FailedStreamReactor<Message>(sequences.status());
  }
  return new PageStreamReactor<Message>(
      streams, [method = std::string(method), peer = context->peer(), urn, fetcher,
                sequences = *std::move(sequences), convert](
                   const CancellationToken& cancel,
                   const typename PageStreamReactor<Message>::Write& write) {
        const absl::Time started = absl::Now();
        int64_t pages = 0, edges = 0;
        const absl::Status status = fetcher->StreamSequences(
            sequences, cancel, [&](StreamedPage page) {
              ++pages;
              edges += page.page.edges.size();
              return write(convert(page));
            });
        LogStreamEnd(method, peer, urn, status, pages, edges, absl::Now() - started);
        return status;
      });
}

}  // namespace

FollowsServiceImpl::FollowsServiceImpl(const FollowsFetcher* fetcher,
                                       StreamTracker* streams)
    : fetcher_(fetcher), streams_(streams) {}

grpc::ServerWriteReactor<v1::FollowerPage>* FollowsServiceImpl::StreamFollowers(
    grpc::CallbackServerContext* context,
    const v1::StreamFollowersRequest* request) {
  return StartStream<v1::FollowerPage>("StreamFollowers", context, streams_, fetcher_,
                                       request->followee(), SequencesFor(*request),
                                       ToFollowerPage);
}

grpc::ServerWriteReactor<v1::FollowingPage>* FollowsServiceImpl::StreamFollowing(
    grpc::CallbackServerContext* context,
    const v1::StreamFollowingRequest* request) {
  return StartStream<v1::FollowingPage>("StreamFollowing", context, streams_, fetcher_,
                                        request->follower(), SequencesFor(*request),
                                        ToFollowingPage);
}

}  // namespace followgate
