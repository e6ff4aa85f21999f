// followgate against the built-in sandbox upstreams (--sandbox): the sandbox
// is started beside the server, never by it, and the server is built from
// ordinary options that point at it.
#ifndef FOLLOWGATE_SERVER_SANDBOX_ENTRY_H_
#define FOLLOWGATE_SERVER_SANDBOX_ENTRY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/grpc/server.h"
#include "server/sandbox/sandbox_upstreams.h"

namespace followgate {

// Starts the sandbox upstreams (LinkedIn and ConnectSafely) on loopback and
// points `options` at them: base URLs, LinkedIn access token and
// ConnectSafely API key are replaced, and an empty `state_dir` becomes a
// fresh temporary directory. The sandbox enforces its own LinkedIn limit a
// little below `options->linkedin_min_interval`, so set that first. The
// caller owns the upstreams and keeps them until the server built from
// `options` is gone. FAILED_PRECONDITION when no temporary directory can be
// made; the sandbox's own error when it cannot start.
absl::StatusOr<std::unique_ptr<sandbox::SandboxUpstreams>> StartSandboxFor(
    ServerOptions* options);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_ENTRY_H_
