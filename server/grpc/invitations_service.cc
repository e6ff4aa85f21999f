#include "server/grpc/invitations_service.h"

#include <memory>
#include <string>
#include <utility>

#include "server/base/error_details.h"
#include "server/base/message_source.h"
#include "server/grpc/threaded_stream_reactor.h"

namespace followgate {
namespace {

// How a batch continues after SERVER_DRAINING: it has no resume token.
constexpr absl::string_view kContinueWithRequestId =
    "send the same request, with the same request_id, again (another replica or later): it "
    "continues where this one stopped and sends no invitation twice";

constexpr MethodPolicy kSendInvitations = {"SendInvitations", kScopeInvitationsSend,
                                           kContinueWithRequestId};
constexpr MethodPolicy kGetInvitation = {"GetInvitation", kScopeInvitationsRead,
                                         kContinueWithRequestId};

const absl::Status& NotConfigured() {
  static const absl::Status* const status = new absl::Status(WithErrorInfo(
      absl::FailedPreconditionError(
          "invitations are not configured on this server: start it with "
          "--connectsafely_api_key_file (or CONNECTSAFELY_API_KEY) and --state_dir"),
      "INVITATIONS_NOT_CONFIGURED"));
  return *status;
}

LogFields CompanyOf(const std::string& company_id) {
  return {{"company_id", company_id.substr(0, 20)}};
}

}  // namespace

InvitationsServiceImpl::InvitationsServiceImpl(InvitationBatcher* batcher,
                                               const CallEnvironment& env,
                                               const CallRuntime& runtime)
    : batcher_(batcher), env_(env), runtime_(runtime) {}

grpc::ServerWriteReactor<v1::SendInvitationsResponse>* InvitationsServiceImpl::SendInvitations(
    grpc::CallbackServerContext* context, const v1::SendInvitationsRequest* request) {
  using Failed = FailedStreamReactor<v1::SendInvitationsResponse>;
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, kSendInvitations, CompanyOf(request->company_id()));
  if (!scope.ok()) return new Failed(scope.status());
  if (batcher_ == nullptr) {
    (*scope)->End(NotConfigured());
    return new Failed(NotConfigured());
  }
  (*scope)->Set("request_id", request->request_id().substr(0, 128));
  (*scope)->Set("profiles", int64_t{request->profile_urns_size()});
  using Reactor = ThreadedStreamReactor<v1::SendInvitationsResponse>;
  return new Reactor(
      runtime_.tracker, *std::move(scope),
      [batcher = batcher_, request = *request](const CancellationToken& cancel,
                                               const Reactor::Write& write, CallScope& scope) {
        v1::BatchProgress progress;
        int64_t requests_sent = 0;
        // A retry that would wait beyond the call's deadline ends it at once.
        const absl::Status status = batcher->Run(
            request, cancel,
            [&](v1::SendInvitationsResponse response) {
              scope.Set("request_id", response.request_id().substr(0, 128));
              progress = response.progress();
              return write(std::move(response));
            },
            scope.deadline(), &requests_sent);
        scope.Set("decided", int64_t{progress.decided_profiles()});
        scope.Set("sent", int64_t{progress.sent()});
        scope.Set("unknown", int64_t{progress.unknown()});
        scope.Set("upstream_requests", requests_sent);
        return status;
      },
      kContinueWithRequestId);
}

grpc::ServerUnaryReactor* InvitationsServiceImpl::GetInvitation(
    grpc::CallbackServerContext* context, const v1::GetInvitationRequest* request,
    v1::Invitation* response) {
  absl::StatusOr<std::unique_ptr<CallScope>> scope =
      CallScope::Begin(env_, *context, kGetInvitation, CompanyOf(request->company_id()));
  if (!scope.ok()) return FinishedUnary(context, scope.status());
  if (batcher_ == nullptr) {
    (*scope)->End(NotConfigured());
    return FinishedUnary(context, NotConfigured());
  }
  // The ledger read runs on the work queue, not on gRPC's thread.
  auto source = std::make_unique<OneShotSource<v1::Invitation>>(
      [batcher = batcher_, request = *request] { return batcher->GetInvitation(request); });
  return new SourceUnaryReactor<v1::Invitation>(runtime_, *std::move(scope), std::move(source),
                                                response,
                                                [](const v1::Invitation&, CallScope&) {});
}

}  // namespace followgate
