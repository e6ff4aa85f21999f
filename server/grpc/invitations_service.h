// The gRPC edge of followgate.v1.InvitationsService.
#ifndef FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_
#define FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_

#include "followgate/v1/invitations.grpc.pb.h"
#include "server/grpc/caller_auth.h"
#include "server/invitations/invitation_batcher.h"
#include "server/grpc/page_stream_reactor.h"

namespace followgate {

// Streams batches from the batcher (scope invitations.send); answers lookups
// from the ledger (invitations.read, or invitations.send). Thread-safe.
// `batcher` may be null: invitations are not configured and every call
// answers FAILED_PRECONDITION; `auth` may be null: no authentication. None
// is owned; each must outlive every call.
class InvitationsServiceImpl final : public v1::InvitationsService::CallbackService {
 public:
  InvitationsServiceImpl(InvitationBatcher* batcher, const CallerAuth* auth,
                         StreamTracker* streams);

  grpc::ServerWriteReactor<v1::SendInvitationsResponse>* SendInvitations(
      grpc::CallbackServerContext* context, const v1::SendInvitationsRequest* request) override;
  grpc::ServerUnaryReactor* GetInvitation(grpc::CallbackServerContext* context,
                                          const v1::GetInvitationRequest* request,
                                          v1::Invitation* response) override;

 private:
  InvitationBatcher* const batcher_;
  const CallerAuth* const auth_;
  StreamTracker* const streams_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_INVITATIONS_SERVICE_H_
