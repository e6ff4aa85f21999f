#include "server/testing/sandboxed_server.h"

#include <utility>

#include "server/sandbox_entry.h"

namespace followgate {
namespace testing {

absl::StatusOr<SandboxedServer> StartSandboxedServer(ServerOptions options) {
  SandboxedServer started;
  auto upstreams = StartSandboxFor(&options);
  if (!upstreams.ok()) return upstreams.status();
  started.upstreams = *std::move(upstreams);
  auto server = FollowgateServer::BuildAndStart(std::move(options));
  if (!server.ok()) return server.status();
  started.server = *std::move(server);
  return started;
}

}  // namespace testing
}  // namespace followgate
