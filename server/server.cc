#include "server/server.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "server/clock.h"
#include "server/curl_http_client.h"
#include "server/follows_service.h"
#include "server/request_pacer.h"
#include "server/sandbox/linkedin_sandbox.h"

namespace followgate {

struct FollowgateServer::Parts {
  ServerOptions options;
  std::unique_ptr<sandbox::LinkedInSandbox> sandbox;
  CurlHttpClient http;
  std::unique_ptr<LinkedInClient> linkedin;
  std::unique_ptr<RequestPacer> pacer;
  std::unique_ptr<FollowsFetcher> fetcher;
  std::unique_ptr<FollowsServiceImpl> follows_service;
  std::unique_ptr<grpc::Server> grpc_server;
  int port = 0;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;
};

namespace {

absl::Status Validate(const ServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be 0..65535, got ", options.port));
  }
  if (options.linkedin_min_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("linkedin_min_interval must not be negative");
  }
  if (options.linkedin.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("linkedin_request_timeout must be positive");
  }
  if (options.fetcher.timeout_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("linkedin_timeout_backoff must not be negative");
  }
  if (options.fetcher.max_retries < 0) {
    return absl::InvalidArgumentError("linkedin_max_retries must not be negative");
  }
  const std::string& version = options.linkedin.version;
  if (version.size() != 6 ||
      version.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linkedin_version must be YYYYMM (e.g. 202510), got \"", version, "\""));
  }
  if (!options.sandbox && options.linkedin.access_token.empty()) {
    return absl::FailedPreconditionError(
        "no LinkedIn access token: pass --linkedin_token_file or set "
        "LINKEDIN_ACCESS_TOKEN, or run with --sandbox");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FollowgateServer>> FollowgateServer::BuildAndStart(
    ServerOptions options) {
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  auto parts = std::make_unique<Parts>();
  if (options.sandbox) {
    sandbox::LinkedInSandboxOptions sandbox_options;
    // The sandbox enforces its own limit, as LinkedIn does, a little below
    // the pace the server keeps.
    sandbox_options.min_interval = options.linkedin_min_interval * 0.7;
    auto started = sandbox::LinkedInSandbox::Start(sandbox_options);
    if (!started.ok()) return started.status();
    parts->sandbox = *std::move(started);
    options.linkedin.base_url = parts->sandbox->base_url();
    options.linkedin.access_token = sandbox_options.access_token;
  }
  parts->options = options;
  Clock* clock = Clock::Real();
  parts->linkedin =
      std::make_unique<LinkedInClient>(&parts->http, clock, options.linkedin);
  parts->pacer = std::make_unique<RequestPacer>(clock, options.linkedin_min_interval);
  parts->fetcher = std::make_unique<FollowsFetcher>(
      parts->linkedin.get(), parts->pacer.get(), clock, options.fetcher);
  parts->follows_service = std::make_unique<FollowsServiceImpl>(parts->fetcher.get());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port),
                           grpc::InsecureServerCredentials(), &parts->port);
  builder.RegisterService(parts->follows_service.get());
  parts->grpc_server = builder.BuildAndStart();
  if (parts->grpc_server == nullptr || parts->port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.host, ":", options.port,
        " (in use, or not a local address)"));
  }
  return std::unique_ptr<FollowgateServer>(new FollowgateServer(std::move(parts)));
}

FollowgateServer::FollowgateServer(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}

FollowgateServer::~FollowgateServer() { Shutdown(); }

int FollowgateServer::port() const { return parts_->port; }

std::string FollowgateServer::sandbox_url() const {
  return parts_->sandbox == nullptr ? "" : parts_->sandbox->base_url();
}

void FollowgateServer::Shutdown() {
  absl::MutexLock lock(&parts_->shutdown_mu);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  // New calls are refused from now on; open streams get drain_grace, then
  // end with UNAVAILABLE so that callers retry elsewhere.
  const absl::Duration grace = parts_->options.drain_grace;
  std::thread refuse_new_calls([this, grace] {
    parts_->grpc_server->Shutdown(absl::ToChronoTime(absl::Now() + grace + absl::Seconds(5)));
  });
  if (!parts_->follows_service->WaitForStreams(grace)) {
    parts_->follows_service->AbortStreams(absl::UnavailableError(
        "followgate is shutting down; retry the stream (another replica or later)"));
  }
  refuse_new_calls.join();
  parts_->grpc_server->Wait();
  parts_->follows_service.reset();  // Waits for the streams' producers.
}

}  // namespace followgate
