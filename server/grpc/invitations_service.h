// The gRPC edge of followgate.v1.InvitationsService.
#ifndef FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_
#define FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_

#include "followgate/v1/invitations.grpc.pb.h"
#include "server/grpc/call_scope.h"
#include "server/grpc/source_reactor.h"
#include "server/invitations/invitation_batcher.h"

namespace followgate {

// Admits each call through its CallScope, then streams batches from the
// batcher (scope invitations.send; a batch keeps a thread while it sends, as
// a crawl does: see ThreadedStreamReactor) and answers lookups from the
// ledger on the runtime's work queue (invitations.read, or
// invitations.send). Thread-safe. `batcher` may be null: invitations are not
// configured and every admitted call answers FAILED_PRECONDITION. Nothing is
// owned; everything must outlive every call.
class InvitationsServiceImpl final : public v1::InvitationsService::CallbackService {
 public:
  InvitationsServiceImpl(InvitationBatcher* batcher, const CallEnvironment& env,
                         const CallRuntime& runtime);

  grpc::ServerWriteReactor<v1::SendInvitationsResponse>* SendInvitations(
      grpc::CallbackServerContext* context, const v1::SendInvitationsRequest* request) override;
  grpc::ServerUnaryReactor* GetInvitation(grpc::CallbackServerContext* context,
                                          const v1::GetInvitationRequest* request,
                                          v1::Invitation* response) override;

 private:
  InvitationBatcher* const batcher_;
  const CallEnvironment env_;
  const CallRuntime runtime_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_
