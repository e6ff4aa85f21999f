#include "server/follows_service.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/call_identity.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/snapshot_streams.h"

namespace followgate {
namespace {

// One log line and the metrics per finished call: who, what, outcome,
// volume, duration.
void LogCallEnd(absl::string_view method, const std::string& caller, absl::string_view urn,
                const absl::Status& status, int64_t pages, int64_t edges, int64_t bytes,
                absl::Duration elapsed) {
  const std::string code = absl::StatusCodeToString(status.code());
  Metrics::Get().RecordRpc(method, code, elapsed);
  LogEvent(status.ok() || absl::IsCancelled(status) ? "INFO" : "WARNING", "rpc",
           {{"method", std::string(method)},
            {"caller", caller},
            {"target", std::string(urn.substr(0, 300))},
            {"code", code},
            {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
            {"pages", pages},
            {"edges", edges},
            {"bytes", bytes},
            {"message", std::string(status.message())}});
}

}  // namespace

FollowsServiceImpl::FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                                       absl::Duration heartbeat_interval,
                                       const CallerAuth* auth, StreamTracker* streams)
    : hub_(hub),
      store_(store),
      clock_(clock),
      heartbeat_interval_(heartbeat_interval),
      auth_(auth),
      streams_(streams) {}

template <typename Page, typename Request>
grpc::ServerWriteReactor<Page>* FollowsServiceImpl::Stream(absl::string_view method,
                                                           grpc::CallbackServerContext* context,
                                                           const Request& request,
                                                           const std::string& urn) {
  absl::StatusOr<std::string> authorized = AuthorizeCall(auth_, *context, kScopeFollowsRead);
  if (!authorized.ok()) {
    LogCallEnd(method, "?", urn, authorized.status(), 0, 0, 0, absl::ZeroDuration());
    return new FailedStreamReactor<Page>(authorized.status());
  }
  const std::string caller = *authorized;
  if (streams_->draining()) return new FailedStreamReactor<Page>(DrainingStatus());
  absl::StatusOr<ReadPlan> plan = PlanFor(request);
  if (!plan.ok()) {
    LogCallEnd(method, caller, urn, plan.status(), 0, 0, 0, absl::ZeroDuration());
    return new FailedStreamReactor<Page>(plan.status());
  }
  plan->who.caller = caller;
  return new PageStreamReactor<Page>(
      streams_, [this, method = std::string(method), caller, urn, plan = *std::move(plan)](
                    const CancellationToken& cancel,
                    const typename PageStreamReactor<Page>::Write& write) {
        const absl::Time started = absl::Now();
        int64_t pages = 0, edges = 0, bytes = 0;
        const absl::Status status = StreamPages<Page>(
            hub_, clock_, heartbeat_interval_, plan, cancel, [&](Page page) {
              if (!page.has_heartbeat()) {
                ++pages;
                edges += page.edges_size();
              }
              bytes += static_cast<int64_t>(page.ByteSizeLong());
              return write(std::move(page));
            });
        LogCallEnd(method, caller, urn, status, pages, edges, bytes, absl::Now() - started);
        return status;
      });
}

grpc::ServerWriteReactor<v1::FollowerPage>* FollowsServiceImpl::StreamFollowers(
    grpc::CallbackServerContext* context, const v1::StreamFollowersRequest* request) {
  return Stream<v1::FollowerPage>("StreamFollowers", context, *request, request->followee());
}

grpc::ServerWriteReactor<v1::FollowingPage>* FollowsServiceImpl::StreamFollowing(
    grpc::CallbackServerContext* context, const v1::StreamFollowingRequest* request) {
  return Stream<v1::FollowingPage>("StreamFollowing", context, *request, request->follower());
}

grpc::ServerUnaryReactor* FollowsServiceImpl::ListFollowers(
    grpc::CallbackServerContext* context, const v1::ListFollowersRequest* request,
    v1::ListFollowersResponse* response) {
  absl::StatusOr<std::string> authorized = AuthorizeCall(auth_, *context, kScopeFollowsRead);
  if (!authorized.ok() || streams_->draining()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(authorized.ok() ? DrainingStatus() : authorized.status()));
    return reactor;
  }
  Requester who;
  who.caller = *authorized;
  return new BlockingUnaryReactor(
      streams_, [this, who, request, response](const CancellationToken& cancel) {
        const absl::Time started = absl::Now();
        absl::StatusOr<v1::ListFollowersResponse> page =
            followgate::ListFollowers(hub_, *request, who, cancel);
        if (page.ok()) *response = *std::move(page);
        const absl::Status status = page.status();
        LogCallEnd("ListFollowers", who.caller, request->followee(), status, status.ok(),
                   status.ok() ? response->edges_size() : 0,
                   status.ok() ? static_cast<int64_t>(response->ByteSizeLong()) : 0,
                   absl::Now() - started);
        return status;
      });
}

grpc::ServerWriteReactor<v1::FollowerChangesPage>* FollowsServiceImpl::StreamFollowerChanges(
    grpc::CallbackServerContext* context, const v1::StreamFollowerChangesRequest* request) {
  using Reactor = PageStreamReactor<v1::FollowerChangesPage>;
  absl::StatusOr<std::string> authorized = AuthorizeCall(auth_, *context, kScopeFollowsRead);
  if (!authorized.ok()) return new FailedStreamReactor<v1::FollowerChangesPage>(authorized.status());
  if (streams_->draining()) {
    return new FailedStreamReactor<v1::FollowerChangesPage>(DrainingStatus());
  }
  return new Reactor(streams_, [this, caller = *authorized, request = *request](
                                   const CancellationToken& cancel, const Reactor::Write& write) {
    const absl::Time started = absl::Now();
    int64_t pages = 0, changes = 0, bytes = 0;
    const absl::Status status = followgate::StreamFollowerChanges(
        store_, request, cancel, [&](v1::FollowerChangesPage page) {
          ++pages;
          changes += page.changes_size();
          bytes += static_cast<int64_t>(page.ByteSizeLong());
          return write(std::move(page));
        });
    LogCallEnd("StreamFollowerChanges", caller, request.followee(), status, pages, changes,
               bytes, absl::Now() - started);
    return status;
  });
}

}  // namespace followgate
