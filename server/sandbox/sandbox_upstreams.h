// Both upstream emulations on ONE HttpServer on 127.0.0.1: LinkedIn's DMA
// Organizational Page Follows API (linkedin_sandbox.h) and ConnectSafely's
// follow-invitations endpoint (connectsafely_api.h), mounted on the
// LinkedInSandbox's router. Paths:
//   /rest/                    LinkedIn API         (see linkedin_sandbox.h)
//   /_sandbox/                LinkedIn admin       (see linkedin_sandbox.h)
//   /linkedin/                ConnectSafely API    (see connectsafely_api.h)
//   /_sandbox/connectsafely/  ConnectSafely admin, no auth, not counted:
//     POST faults    JSON array of faults (sandbox_fault.h), incl. "lost";
//                    answers {"faults_pending":N}
//     GET  stats     every ConnectSafelyStats field, by_status keyed by the
//                    status as a string
//     GET  received?company=ID   {"<profileUrn>": receive count, ...}
//     POST reset     forgets invitations, counts, stats, faults and the rate
//                    limiter; answers the (cleared) stats
//
// Owns both emulations; the server stops before either is destroyed.
// Thread-safe. Start() errors: InvalidArgument for bad options of either
// emulation, Unavailable when the port cannot be bound.

#ifndef FOLLOWGATE_SERVER_SANDBOX_SANDBOX_UPSTREAMS_H_
#define FOLLOWGATE_SERVER_SANDBOX_SANDBOX_UPSTREAMS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/sandbox/connectsafely_api.h"
#include "server/sandbox/http_message.h"
#include "server/sandbox/linkedin_sandbox.h"

namespace followgate {
namespace sandbox {

struct SandboxUpstreamsOptions {
  // Also sets the shared server's port (linkedin.port; 0 picks a free one).
  LinkedInSandboxOptions linkedin;
  ConnectSafelyOptions connectsafely;
};

class SandboxUpstreams {
 public:
  static absl::StatusOr<std::unique_ptr<SandboxUpstreams>> Start(
      const SandboxUpstreamsOptions& options);

  SandboxUpstreams(const SandboxUpstreams&) = delete;
  SandboxUpstreams& operator=(const SandboxUpstreams&) = delete;

  int port() const { return linkedin_->port(); }
  // "http://127.0.0.1:PORT", the base URL of both APIs.
  std::string base_url() const { return linkedin_->base_url(); }

  // Owned by this object; valid as long as it lives.
  LinkedInSandbox& linkedin() { return *linkedin_; }
  ConnectSafelyApi& connectsafely() { return *connectsafely_; }

 private:
  SandboxUpstreams(std::unique_ptr<ConnectSafelyApi> connectsafely,
                   std::unique_ptr<LinkedInSandbox> linkedin);

  HttpReply HandleConnectSafelyAdmin(const HttpRequest& request);

  std::unique_ptr<ConnectSafelyApi> connectsafely_;
  // Last member: destroyed (and so its server stopped) first, while the
  // ConnectSafely handlers mounted on it can still run.
  std::unique_ptr<LinkedInSandbox> linkedin_;
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_SANDBOX_UPSTREAMS_H_
