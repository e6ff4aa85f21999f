// The one conversion from absl::Status to grpc::Status.
#ifndef FOLLOWGATE_SERVER_GRPC_GRPC_STATUS_H_
#define FOLLOWGATE_SERVER_GRPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace followgate {

// Keeps the code (absl and gRPC number codes alike) and the message, and
// carries the status's google.rpc details (ErrorInfo, RetryInfo, BadRequest;
// see error_details.h) as a serialized google.rpc.Status, which gRPC sends in
// the `grpc-status-details-bin` trailer. Every error gets an ErrorInfo: when
// the core attached none, its reason is the code's name. The message and
// every string of every detail pass through Redact() (server/base/redaction.h);
// a google.rpc detail whose type is not linked in cannot be checked and is
// dropped.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_GRPC_STATUS_H_
