#include "server/grpc/follows_service.h"

#include <memory>
#include <string>
#include <utility>

#include "server/base/error_details.h"
#include "server/follows/follower_changes_source.h"
#include "server/follows/list_followers_source.h"
#include "server/follows/list_snapshots.h"
#include "server/follows/page_stream_source.h"
#include "server/follows/read_plan.h"

namespace followgate {

// A page's bytes go on the wire as they are, without a copy.
void ToWire(PageBytes message, grpc::ByteBuffer* wire) {
  auto* owned = new std::string(std::move(message.bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), +[](void* s) { delete static_cast<std::string*>(s); },
      owned);
  grpc::ByteBuffer buffer(&slice, 1);
  wire->Swap(&buffer);
}

namespace {

constexpr MethodPolicy kStreamFollowers = {"StreamFollowers", kScopeFollowsRead};
constexpr MethodPolicy kStreamFollowing = {"StreamFollowing", kScopeFollowsRead};
constexpr MethodPolicy kListFollowers = {"ListFollowers", kScopeFollowsRead};
constexpr MethodPolicy kStreamFollowerChanges = {"StreamFollowerChanges", kScopeFollowsRead};
constexpr MethodPolicy kListSnapshots = {"ListSnapshots", kScopeFollowsRead};

const MethodPolicy& PolicyOf(const v1::StreamFollowersRequest&) { return kStreamFollowers; }
const MethodPolicy& PolicyOf(const v1::StreamFollowingRequest&) { return kStreamFollowing; }

std::string UrnOf(const v1::StreamFollowersRequest& request) { return request.followee(); }
std::string UrnOf(const v1::StreamFollowingRequest& request) { return request.follower(); }

LogFields Target(const std::string& urn) { return {{"target", urn.substr(0, 300)}}; }

// Streams send stored pages undecoded: they count pages and bytes, not
// edges.
void CountPage(const PageBytes& page, CallScope& scope) {
  scope.Count("pages", page.heartbeat ? 0 : 1);
  scope.Count("bytes", static_cast<int64_t>(page.bytes.size()));
}

}  // namespace

FollowsServiceImpl::FollowsServiceImpl(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                                       absl::Duration heartbeat_interval,
                                       const ResumeTokenCodec* tokens,
                                       const CallEnvironment& env, const CallRuntime& runtime)
    : hub_(hub),
      store_(store),
      clock_(clock),
      heartbeat_interval_(heartbeat_interval),
      tokens_(tokens),
      env_(env),
      runtime_(runtime) {}

template <typename Request>
grpc::ServerWriteReactor<grpc::ByteBuffer>* FollowsServiceImpl::Stream(
    absl::string_view method, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* raw_request) {
  using Failed = FailedStreamReactor<grpc::ByteBuffer>;
  Request request;
  grpc::ByteBuffer copy(*raw_request);
  const bool parsed = grpc::SerializationTraits<Request>::Deserialize(&copy, &request).ok();
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, PolicyOf(request), Target(UrnOf(request)));
  if (!scope.ok()) return new Failed(scope.status());
  absl::StatusOr<ReadPlan> plan =
      parsed ? PlanFor(request) : InvalidField("request", "the request is not a valid message");
  if (!plan.ok()) {
    (*scope)->End(plan.status());
    return new Failed(plan.status());
  }
  plan->who.caller = (*scope)->caller();
  plan->deadline = (*scope)->deadline();
  auto source = std::make_unique<PageStreamSource>(hub_, clock_, heartbeat_interval_, tokens_,
                                                   *std::move(plan));
  return new SourceStreamReactor<PageBytes, grpc::ByteBuffer>(
      runtime_, *std::move(scope), std::move(source), CountPage,
      [](const PageBytes& page) { return page.resume_token; });
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
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, kListFollowers, Target(request->followee()));
  if (!scope.ok()) return FinishedUnary(context, scope.status());
  Requester who;
  who.caller = (*scope)->caller();
  auto source = std::make_unique<ListFollowersSource>(hub_, tokens_, *request, who);
  return new SourceUnaryReactor<v1::ListFollowersResponse>(
      runtime_, *std::move(scope), std::move(source), response,
      [](const v1::ListFollowersResponse& page, CallScope& scope) {
        scope.Count("pages", 1);
        scope.Count("edges", page.edges_size());
        scope.Count("bytes", static_cast<int64_t>(page.ByteSizeLong()));
      });
}

grpc::ServerWriteReactor<v1::FollowerChangesPage>* FollowsServiceImpl::StreamFollowerChanges(
    grpc::CallbackServerContext* context, const v1::StreamFollowerChangesRequest* request) {
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, kStreamFollowerChanges, Target(request->followee()));
  if (!scope.ok()) return new FailedStreamReactor<v1::FollowerChangesPage>(scope.status());
  auto source = std::make_unique<FollowerChangesSource>(store_, *request);
  return new SourceStreamReactor<v1::FollowerChangesPage>(
      runtime_, *std::move(scope), std::move(source),
      [](const v1::FollowerChangesPage& page, CallScope& scope) {
        scope.Count("pages", 1);
        scope.Count("edges", page.changes_size());
        scope.Count("bytes", static_cast<int64_t>(page.ByteSizeLong()));
      },
      nullptr, kContinueWithSameRequest);
}

// A few rows of the store, read on the call's thread: nothing to wait for.
grpc::ServerUnaryReactor* FollowsServiceImpl::ListSnapshots(
    grpc::CallbackServerContext* context, const v1::ListSnapshotsRequest* request,
    v1::ListSnapshotsResponse* response) {
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, kListSnapshots, Target(request->followee()));
  if (!scope.ok()) return FinishedUnary(context, scope.status());
  absl::StatusOr<v1::ListSnapshotsResponse> listed = followgate::ListSnapshots(store_, *request);
  if (listed.ok()) {
    *response = *std::move(listed);
    (*scope)->Count("snapshots", response->snapshots_size());
  }
  const absl::Status status = listed.status();
  (*scope)->End(status);
  return FinishedUnary(context, status);
}

}  // namespace followgate
