#include "server/grpc_status.h"

#include <string>

#include "absl/strings/match.h"
#include "google/rpc/status.pb.h"
#include "server/error_details.h"

namespace followgate {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Every error names a reason, so that callers can act without parsing
  // messages.
  const absl::Status detailed = ErrorReason(status).has_value()
                                    ? status
                                    : WithErrorInfo(status, absl::StatusCodeToString(status.code()));
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));
  // Only google.rpc payloads go out; the core's internal ones stay inside.
  detailed.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (!absl::StartsWith(url, "type.googleapis.com/google.rpc.")) return;
    google::protobuf::Any* any = rpc_status.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), rpc_status.SerializeAsString());
}

}  // namespace followgate
