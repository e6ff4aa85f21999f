#include "server/sandbox_entry.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace followgate {
namespace {

absl::StatusOr<std::string> TemporaryStateDir() {
  char pattern[] = "/tmp/followgate-sandbox-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a temporary state_dir: ", std::strerror(errno)));
  }
  return std::string(pattern);
}

}  // namespace

absl::StatusOr<std::unique_ptr<sandbox::SandboxUpstreams>> StartSandboxFor(
    ServerOptions* options) {
  sandbox::SandboxUpstreamsOptions sandbox_options;
  // The sandbox enforces its own limit, as LinkedIn does, a little below
  // the pace the server keeps.
  sandbox_options.linkedin.min_interval = options->linkedin_min_interval * 0.7;
  auto started = sandbox::SandboxUpstreams::Start(sandbox_options);
  if (!started.ok()) return started.status();
  std::unique_ptr<sandbox::SandboxUpstreams> upstreams = *std::move(started);
  options->linkedin.base_url = upstreams->base_url();
  options->linkedin.access_token = sandbox_options.linkedin.access_token;
  options->connectsafely.base_url = upstreams->base_url();
  options->connectsafely.api_key = sandbox_options.connectsafely.api_key;
  // With a database the state lives there.
  if (options->state_dir.empty() && options->database_url.empty()) {
    auto dir = TemporaryStateDir();
    if (!dir.ok()) return dir.status();
    options->state_dir = *dir;
  }
  return upstreams;
}

}  // namespace followgate
