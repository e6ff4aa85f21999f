#include "server/grpc/invitations_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc/call_identity.h"
#include "server/base/error_details.h"
#include "server/grpc/grpc_status.h"
#include "server/base/log.h"
#include "server/base/metrics.h"

namespace followgate {
namespace {

// How a batch continues after SERVER_DRAINING: it has no resume token.
constexpr absl::string_view kContinueWithRequestId =
    "send the same request, with the same request_id, again (another replica or later): it "
    "continues where this one stopped and sends no invitation twice";

const absl::Status& NotConfigured() {
  static const absl::Status* const status = new absl::Status(WithErrorInfo(
      absl::FailedPreconditionError(
          "invitations are not configured on this server: start it with "
          "--connectsafely_api_key_file (or CONNECTSAFELY_API_KEY) and --state_dir"),
      "INVITATIONS_NOT_CONFIGURED"));
  return *status;
}

// The log line and metrics of a call refused before it started (no token,
// a missing scope).
void LogRefusedCall(const CallerAuth* auth, absl::string_view method,
                    const absl::StatusOr<std::string>& authorized) {
  const std::string code = absl::StatusCodeToString(authorized.status().code());
  const std::string caller = CallerForLog(authorized);
  Metrics::Get().RecordRpc(method, code, CallerMetricLabel(auth, caller), absl::ZeroDuration());
  LogEvent("WARNING", "rpc",
           {{"method", std::string(method)},
            {"caller", caller},
            {"code", code},
            {"duration_ms", 0.0},
            {"message", std::string(authorized.status().message())}});
}

}  // namespace

InvitationsServiceImpl::InvitationsServiceImpl(InvitationBatcher* batcher,
                                               const CallerAuth* auth, StreamTracker* streams)
    : batcher_(batcher), auth_(auth), streams_(streams) {}

grpc::ServerWriteReactor<v1::SendInvitationsResponse>* InvitationsServiceImpl::SendInvitations(
    grpc::CallbackServerContext* context, const v1::SendInvitationsRequest* request) {
  using Reactor = PageStreamReactor<v1::SendInvitationsResponse>;
  absl::StatusOr<std::string> caller = AuthorizeCall(auth_, *context, kScopeInvitationsSend);
  if (!caller.ok()) {
    LogRefusedCall(auth_, "SendInvitations", caller);
    return new FailedStreamReactor<v1::SendInvitationsResponse>(caller.status());
  }
  if (batcher_ == nullptr) {
    return new FailedStreamReactor<v1::SendInvitationsResponse>(NotConfigured());
  }
  if (streams_->draining()) {
    return new FailedStreamReactor<v1::SendInvitationsResponse>(
        DrainingStatus(kContinueWithRequestId));
  }
  // A retry that would wait beyond the call's deadline ends it at once.
  const absl::Time deadline = CallDeadline(*context);
  return new Reactor(
      streams_, [batcher = batcher_, auth = auth_, request = *request, peer = *caller, deadline](
                    const CancellationToken& cancel, const Reactor::Write& write) {
        const absl::Time started = absl::Now();
        std::string request_id = request.request_id();
        v1::BatchProgress progress;
        int64_t requests_sent = 0;
        const absl::Status status = batcher->Run(
            request, cancel,
            [&](v1::SendInvitationsResponse response) {
              request_id = response.request_id();
              progress = response.progress();
              return write(std::move(response));
            },
            deadline, &requests_sent);
        const std::string code = absl::StatusCodeToString(status.code());
        const absl::Duration elapsed = absl::Now() - started;
        Metrics::Get().RecordRpc("SendInvitations", code, CallerMetricLabel(auth, peer), elapsed);
        LogEvent(status.ok() || absl::IsCancelled(status) ? "INFO" : "WARNING", "rpc",
                 {{"method", "SendInvitations"},
                  {"caller", peer},
                  {"company_id", request.company_id().substr(0, 20)},
                  {"request_id", request_id.substr(0, 128)},
                  {"code", code},
                  {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
                  {"profiles", int64_t{request.profile_urns_size()}},
                  {"decided", int64_t{progress.decided_profiles()}},
                  {"sent", int64_t{progress.sent()}},
                  {"unknown", int64_t{progress.unknown()}},
                  {"upstream_requests", requests_sent},
                  {"message", std::string(status.message())}});
        return status;
      },
      kContinueWithRequestId);
}

grpc::ServerUnaryReactor* InvitationsServiceImpl::GetInvitation(
    grpc::CallbackServerContext* context, const v1::GetInvitationRequest* request,
    v1::Invitation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::string> caller = AuthorizeCall(auth_, *context, kScopeInvitationsRead);
  if (!caller.ok()) {
    LogRefusedCall(auth_, "GetInvitation", caller);
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  if (batcher_ == nullptr) {
    reactor->Finish(ToGrpcStatus(NotConfigured()));
    return reactor;
  }
  const absl::Time started = absl::Now();
  absl::StatusOr<v1::Invitation> invitation = batcher_->GetInvitation(*request);
  if (invitation.ok()) *response = *std::move(invitation);
  const std::string code = absl::StatusCodeToString(invitation.status().code());
  Metrics::Get().RecordRpc("GetInvitation", code, CallerMetricLabel(auth_, *caller),
                           absl::Now() - started);
  LogEvent("INFO", "rpc",
           {{"method", "GetInvitation"},
            {"caller", *caller},
            {"company_id", request->company_id().substr(0, 20)},
            {"code", code},
            {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - started)}});
  reactor->Finish(ToGrpcStatus(invitation.status()));
  return reactor;
}

}  // namespace followgate
