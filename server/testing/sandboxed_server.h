// A whole FollowgateServer in process against the sandbox upstreams, started
// the way followgate_server --sandbox starts them (without the binary's
// pacing defaults, which come from its flags).
#ifndef FOLLOWGATE_SERVER_TESTING_SANDBOXED_SERVER_H_
#define FOLLOWGATE_SERVER_TESTING_SANDBOXED_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/grpc/server.h"
#include "server/sandbox/sandbox_upstreams.h"

namespace followgate {
namespace testing {

// Owns both; the server goes first, the upstreams it calls after it.
struct SandboxedServer {
  std::unique_ptr<sandbox::SandboxUpstreams> upstreams;
  std::unique_ptr<FollowgateServer> server;

  FollowgateServer* operator->() const { return server.get(); }
};

// StartSandboxFor(&options), then FollowgateServer::BuildAndStart(options);
// the first error of either.
absl::StatusOr<SandboxedServer> StartSandboxedServer(ServerOptions options);

}  // namespace testing
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_TESTING_SANDBOXED_SERVER_H_
