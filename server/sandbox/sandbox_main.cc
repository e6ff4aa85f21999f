// followgate_sandbox: runs the LinkedIn API emulation and the ConnectSafely
// follow-invitations emulation on one port of 127.0.0.1 until SIGTERM or
// SIGINT (see sandbox_upstreams.h for the paths). Prints "sandbox listening
// on http://127.0.0.1:PORT" to stderr once it accepts connections; with
// --port_file it also writes the port there (atomically), for scripts and
// tests. Never prints the token or the API key.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/sandbox/connectsafely_api.h"
#include "server/sandbox/linkedin_dataset.h"
#include "server/sandbox/linkedin_sandbox.h"
#include "server/sandbox/sandbox_upstreams.h"

ABSL_FLAG(int, port, 0, "TCP port on 127.0.0.1; 0 picks a free one.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file (atomically).");
ABSL_FLAG(std::string, token, "sandbox-token",
          "The bearer token the sandbox accepts (token 0 in stats).");
ABSL_FLAG(std::string, more_tokens, "",
          "Further accepted bearer tokens, comma-separated (tokens 1, 2, ... in stats), "
          "each rate-limited on its own.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::InfiniteDuration(),
          "Access tokens expire this long after the start (or after OAuth issued them); "
          "inf: never.");
ABSL_FLAG(std::string, oauth_client_id, "",
          "Emulate LinkedIn's OAuth endpoints (/oauth/v2/accessToken, "
          "/oauth/v2/introspectToken) for this client id.");
ABSL_FLAG(std::string, oauth_client_secret, "", "The emulated OAuth client's secret.");
ABSL_FLAG(std::string, refresh_token, "", "The refresh token the emulated OAuth accepts.");
ABSL_FLAG(absl::Duration, min_interval, absl::ZeroDuration(),
          "Minimum spacing of one token's API requests (e.g. 60s); sooner ones "
          "answer 429. 0 disables the limit.");
ABSL_FLAG(std::string, pages, "1000:25000:1500",
          "Seeded followee pages as id:member_followers:page_followers, "
          "comma-separated.");
ABSL_FLAG(int, masked_every, 0,
          "When N > 0, every Nth result page is short but keeps a cursor.");
ABSL_FLAG(std::string, oldest_version, "202411",
          "Oldest accepted LinkedIn-Version (YYYYMM); older ones answer 426.");
ABSL_FLAG(std::string, api_key, "sandbox-api-key",
          "The only ConnectSafely API key (bearer) the sandbox accepts.");
ABSL_FLAG(std::string, super_admin_companies, "105672170,1000",
          "Comma-separated company ids the ConnectSafely account is Super "
          "Admin of; invitations for other companies answer 403.");
ABSL_FLAG(int64_t, credits_per_company, 0,
          "ConnectSafely invitation credits per company and calendar month; "
          "0 is unlimited.");
ABSL_FLAG(absl::Duration, connectsafely_min_interval, absl::ZeroDuration(),
          "Minimum spacing of ConnectSafely API requests; sooner ones answer "
          "429. 0 disables the limit.");

namespace followgate {
namespace sandbox {
namespace {

absl::StatusOr<LinkedInSandboxOptions> LinkedInOptionsFromFlags() {
  LinkedInSandboxOptions options;
  options.port = absl::GetFlag(FLAGS_port);
  options.access_token = absl::GetFlag(FLAGS_token);
  options.more_tokens =
      absl::StrSplit(absl::GetFlag(FLAGS_more_tokens), ',', absl::SkipEmpty());
  options.min_interval = absl::GetFlag(FLAGS_min_interval);
  options.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.oauth_client_id = absl::GetFlag(FLAGS_oauth_client_id);
  options.oauth_client_secret = absl::GetFlag(FLAGS_oauth_client_secret);
  options.refresh_token = absl::GetFlag(FLAGS_refresh_token);
  options.masked_every = absl::GetFlag(FLAGS_masked_every);
  options.oldest_version = absl::GetFlag(FLAGS_oldest_version);
  absl::StatusOr<std::vector<SeededPage>> pages =
      ParseSeededPages(absl::GetFlag(FLAGS_pages));
  if (!pages.ok()) return pages.status();
  options.pages = *std::move(pages);
  return options;
}

absl::StatusOr<ConnectSafelyOptions> ConnectSafelyOptionsFromFlags() {
  ConnectSafelyOptions options;
  options.api_key = absl::GetFlag(FLAGS_api_key);
  absl::StatusOr<std::vector<int64_t>> companies =
      ParseCompanyIds(absl::GetFlag(FLAGS_super_admin_companies));
  if (!companies.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--super_admin_companies: ", companies.status().message()));
  }
  options.super_admin_companies = *std::move(companies);
  options.credits_per_company = absl::GetFlag(FLAGS_credits_per_company);
  options.min_interval = absl::GetFlag(FLAGS_connectsafely_min_interval);
  return options;
}

absl::StatusOr<SandboxUpstreamsOptions> OptionsFromFlags() {
  SandboxUpstreamsOptions options;
  absl::StatusOr<LinkedInSandboxOptions> linkedin = LinkedInOptionsFromFlags();
  if (!linkedin.ok()) return linkedin.status();
  options.linkedin = *std::move(linkedin);
  absl::StatusOr<ConnectSafelyOptions> connectsafely =
      ConnectSafelyOptionsFromFlags();
  if (!connectsafely.ok()) return connectsafely.status();
  options.connectsafely = *std::move(connectsafely);
  return options;
}

// Writes to a temporary file and renames it, so readers never see a partial
// port number.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    out.close();
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write port file ", temporary));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status error = absl::UnavailableError(absl::StrCat(
        "cannot rename ", temporary, " to ", path, ": ", std::strerror(errno)));
    std::remove(temporary.c_str());
    return error;
  }
  return absl::OkStatus();
}

// Blocks SIGTERM and SIGINT in this thread and every thread started after,
// so that only sigwait() sees them.
sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int Run() {
  absl::StatusOr<SandboxUpstreamsOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "followgate_sandbox: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  const sigset_t signals = BlockTerminationSignals();
  absl::StatusOr<std::unique_ptr<SandboxUpstreams>> sandbox =
      SandboxUpstreams::Start(*options);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "followgate_sandbox: %s\n",
                 std::string(sandbox.status().message()).c_str());
    return sandbox.status().code() == absl::StatusCode::kInvalidArgument ? 2
                                                                         : 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    if (absl::Status status = WritePortFile(port_file, (*sandbox)->port());
        !status.ok()) {
      std::fprintf(stderr, "followgate_sandbox: %s\n",
                   std::string(status.message()).c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "sandbox listening on %s\n",
               (*sandbox)->base_url().c_str());
  std::fflush(stderr);
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  (*sandbox).reset();
  return 0;
}

}  // namespace
}  // namespace sandbox
}  // namespace followgate

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Emulates LinkedIn's DMA Organizational Page Follows API and "
      "ConnectSafely's follow invitations on one port of 127.0.0.1.\n"
      "Usage: followgate_sandbox [--port=N] [--port_file=PATH] "
      "[--pages=id:members:pages,...] [--super_admin_companies=ID,...]");
  absl::ParseCommandLine(argc, argv);
  return followgate::sandbox::Run();
}
