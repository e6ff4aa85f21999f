#include "server/grpc/follows_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc/call_identity.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/follows/snapshot_streams.h"

namespace followgate {
namespace {

// One log line and the metrics per finished call: who, what, outcome,
// volume, duration.
void LogCallEnd(const CallerAuth* auth, absl::string_view method, const std::string& caller,
                absl::string_view urn, const absl::Status& status, int64_t pages, int64_t edges,
                int64_t bytes, absl::Duration elapsed) {
  const std::string code = absl::StatusCodeToString(status.code());
  Metrics::Get().RecordRpc(method, code, CallerMetricLabel(auth, caller), elapsed);
  LogFields fields = {{"method", std::string(method)},
                      {"caller", caller},
                      {"target", std::string(urn.substr(0, 300))},
                      {"code", code},
                      {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
                      {"pages", pages},
                      {"bytes", bytes},
                      {"message", std::string(status.message())}};
  // Streams send stored pages undecoded: they do not count edges.
  if (edges >= 0) fields.emplace_back("edges", edges);
  LogEvent(status.ok() || absl::IsCancelled(status) ? "INFO" : "WARNING", "rpc", fields);
}

}  // namespace

FollowsServiceImpl::FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                                       absl::Duration heartbeat_interval,
                                       const ResumeTokenCodec* tokens, const CallerAuth* auth,
                                       StreamTracker* streams)
    : hub_(hub),
      store_(store),
      clock_(clock),
      heartbeat_interval_(heartbeat_interval),
      tokens_(tokens),
      auth_(auth),
      streams_(streams) {}

namespace {

std::string UrnOf(const v1::StreamFollowersRequest& request) { return request.followee(); }
std::string UrnOf(const v1::StreamFollowingRequest& request) { return request.follower(); }

}  // namespace

template <typename Request>
grpc::ServerWriteReactor<grpc::ByteBuffer>* FollowsServiceImpl::Stream(
    absl::string_view method, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* raw_request) {
  using Failed = FailedStreamReactor<grpc::ByteBuffer>;
  Request request;
  grpc::ByteBuffer copy(*raw_request);
  if (!grpc::SerializationTraits<Request>::Deserialize(&copy, &request).ok()) {
    return new Failed(InvalidField("request", "the request is not a valid message"));
  }
  const std::string urn = UrnOf(request);
  absl::StatusOr<std::string> authorized = AuthorizeCall(auth_, *context, kScopeFollowsRead);
  if (!authorized.ok()) {
    LogCallEnd(auth_, method, CallerForLog(authorized), urn, authorized.status(), 0, 0, 0,
               absl::ZeroDuration());
    return new Failed(authorized.status());
  }
  const std::string caller = *authorized;
  if (streams_->draining()) return new Failed(DrainingStatus());
  absl::StatusOr<ReadPlan> plan = PlanFor(request);
  if (!plan.ok()) {
    LogCallEnd(auth_, method, caller, urn, plan.status(), 0, 0, 0, absl::ZeroDuration());
    return new Failed(plan.status());
  }
  plan->who.caller = caller;
  plan->deadline = CallDeadline(*context);
  using Reactor = PageStreamReactor<TokenedBuffer, grpc::ByteBuffer>;
  return new Reactor(streams_, [this, method = std::string(method), caller, urn,
                                plan = *std::move(plan)](const CancellationToken& cancel,
                                                         const Reactor::Write& write) {
    const absl::Time started = absl::Now();
    int64_t pages = 0, bytes = 0;
    const absl::Status status = StreamPageBytes(
        hub_, clock_, heartbeat_interval_, *tokens_, plan, cancel, [&](PageBytes page) {
          if (!page.heartbeat) ++pages;
          bytes += static_cast<int64_t>(page.bytes.size());
          return write(TokenedBuffer(std::move(page.bytes), std::move(page.resume_token)));
        });
    LogCallEnd(auth_, method, caller, urn, status, pages, -1, bytes, absl::Now() - started);
    return status;
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* FollowsServiceImpl::StreamFollowers(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  return Stream<v1::StreamFollowersRequest>("StreamFollowers", context, request);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* FollowsServiceImpl::StreamFollowing(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  return Stream<v1::StreamFollowingRequest>("StreamFollowing", context, request);
}

grpc::ServerUnaryReactor* FollowsServiceImpl::ListFollowers(
    grpc::CallbackServerContext* context, const v1::ListFollowersRequest* request,
    v1::ListFollowersResponse* response) {
  absl::StatusOr<std::string> authorized = AuthorizeCall(auth_, *context, kScopeFollowsRead);
  if (!authorized.ok()) {
    LogCallEnd(auth_, "ListFollowers", CallerForLog(authorized), request->followee(),
               authorized.status(), 0, 0, 0, absl::ZeroDuration());
  }
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
            followgate::ListFollowers(hub_, *tokens_, *request, who, cancel);
        if (page.ok()) *response = *std::move(page);
        const absl::Status status = page.status();
        LogCallEnd(auth_, "ListFollowers", who.caller, request->followee(), status, status.ok(),
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
  if (!authorized.ok()) {
    LogCallEnd(auth_, "StreamFollowerChanges", CallerForLog(authorized), request->followee(),
               authorized.status(), 0, 0, 0, absl::ZeroDuration());
    return new FailedStreamReactor<v1::FollowerChangesPage>(authorized.status());
  }
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
    LogCallEnd(auth_, "StreamFollowerChanges", caller, request.followee(), status, pages, changes,
               bytes, absl::Now() - started);
    return status;
  });
}

}  // namespace followgate
