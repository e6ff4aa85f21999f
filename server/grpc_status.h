// The one conversion from absl::Status to grpc::Status.
#ifndef FOLLOWGATE_SERVER_GRPC_STATUS_H_
#define FOLLOWGATE_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace followgate {

// Keeps the code (absl and gRPC number codes alike) and the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_STATUS_H_
