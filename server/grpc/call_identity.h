// Who a gRPC call is for.
#ifndef FOLLOWGATE_SERVER_GRPC_CALL_IDENTITY_H_
#define FOLLOWGATE_SERVER_GRPC_CALL_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc/caller_auth.h"

namespace followgate {

// The caller's name if it may make a call that needs `scope` (see
// CallerAuth); without authentication, its `x-followgate-caller` header or
// its address (without the port). `auth` may be null (no authentication).
absl::StatusOr<std::string> AuthorizeCall(const CallerAuth* auth,
                                          const grpc::CallbackServerContext& context,
                                          absl::string_view scope);

// The caller as log lines and metrics name it, also for a call that
// AuthorizeCall refused: its authenticated name when it lacked a scope,
// "unauthenticated" when it had no or an unknown token.
std::string CallerForLog(const absl::StatusOr<std::string>& authorized);

// The caller label of metrics: its name when callers are authenticated (a
// bounded set), else "unauthenticated" (names callers give themselves are
// unbounded).
std::string CallerMetricLabel(const CallerAuth* auth, const std::string& caller);

// The call's deadline; InfiniteFuture when the caller set none.
absl::Time CallDeadline(const grpc::ServerContextBase& context);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_CALL_IDENTITY_H_
