// followgate_server: parses flags into ServerOptions (with --sandbox, starts
// the sandbox upstreams and points the options at them) and runs the server
// until SIGTERM or SIGINT (SIGHUP reloads the callers file and re-reads the
// token and key files). Exits 0 after a drain, 2 when the server does not
// start.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/private_handle_accessor.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/flag_values.h"
#include "server/base/log.h"
#include "server/base/secret_source.h"
#include "server/base/secrets.h"
#include "server/grpc/server.h"
#include "server/sandbox_entry.h"
#include "server/upstream/urn.h"

ABSL_FLAG(std::string, host, "0.0.0.0", "Address to listen on.");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port (logged).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file once serving.");
ABSL_FLAG(std::string, linkedin_base_url, "https://api.linkedin.com",
          "LinkedIn API base URL.");
ABSL_FLAG(std::string, linkedin_token_file, "",
          "File holding the LinkedIn member access token (default: env "
          "LINKEDIN_ACCESS_TOKEN).");
ABSL_FLAG(std::string, linkedin_credentials_file, "",
          "JSON file naming several LinkedIn credentials, each with a token file (or "
          "environment variable), the organizational pages it serves and the budget it "
          "spends (see the README); instead of --linkedin_token_file.");
ABSL_FLAG(std::string, linkedin_oauth_url, "https://www.linkedin.com",
          "LinkedIn's OAuth base URL (token refresh and introspection of credentials that "
          "name a client_id).");
ABSL_FLAG(std::string, linkedin_version, "202611",
          "LinkedIn-Version header (YYYYMM).");
ABSL_FLAG(absl::Duration, linkedin_min_interval, absl::Seconds(60),
          "No two LinkedIn requests start closer than this (0s: no pacing, "
          "also in a fleet; negative is refused).");
ABSL_FLAG(absl::Duration, linkedin_request_timeout, absl::Seconds(30),
          "Timeout of one LinkedIn request.");
ABSL_FLAG(absl::Duration, linkedin_timeout_backoff, absl::Seconds(60),
          "Wait after a timeout, connection failure, truncated body or 5xx.");
ABSL_FLAG(int, linkedin_max_retries, 5,
          "Retries of one page after transient failures or 429.");
ABSL_FLAG(absl::Duration, linkedin_max_interval, absl::ZeroDuration(),
          "After 429s without Retry-After the interval between LinkedIn requests "
          "doubles up to this (default: 8 x --linkedin_min_interval, at most "
          "--max_upstream_wait), and steps back after 10 answers in a row.");
ABSL_FLAG(absl::Duration, max_upstream_wait, absl::Minutes(10),
          "Longest wait an upstream may impose (Retry-After, ConnectSafely's "
          "backoff). A longer one, or one beyond the call's deadline, ends the "
          "call at once with RESOURCE_EXHAUSTED and a RetryInfo of the delay.");
ABSL_FLAG(int64_t, max_upstream_body_bytes, 16 << 20,
          "Largest LinkedIn or ConnectSafely response body read; a larger one "
          "fails the request.");
ABSL_FLAG(std::string, linkedin_consented_member_id_pattern,
          followgate::FollowerClassifier::kDefaultConsentedMemberIdPattern,
          "Regular expression that a whole consented (non-obfuscated) member id "
          "matches; other member ids are reported as OBFUSCATED_MEMBER. Empty: "
          "every member is taken as consented.");
ABSL_FLAG(std::string, state_dir, "",
          "Directory for durable state: follows snapshots and the invitation "
          "ledger (SQLite). Required for invitations; without it snapshots live "
          "in memory only. A temporary one with --sandbox.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL database shared by a fleet of replicas (libpq URL, e.g. "
          "postgresql://followgate@db:5432/followgate): snapshots, resume "
          "tokens, the invitation ledger and the LinkedIn budget live there, for "
          "every replica alike. Exclusive with --state_dir.");
ABSL_FLAG(std::string, database_password_file, "",
          "File holding the database password (default: libpq's PGPASSWORD, "
          "PGPASSFILE or ~/.pgpass).");
ABSL_FLAG(std::string, replica_id, "",
          "This replica's name in the fleet, unique and stable across restarts "
          "(e.g. the pod name); default <hostname>:<port>.");
ABSL_FLAG(absl::Duration, invitation_lease, absl::Minutes(5),
          "With --database_url: invitation requests in flight on a replica that "
          "stopped renewing them for this long are recorded UNKNOWN by the others. "
          "Must exceed the longest ConnectSafely request.");
ABSL_FLAG(absl::Duration, crawl_lease, absl::Seconds(15),
          "With --database_url: a crawl's lease lives this long after its last "
          "renewal; when the crawling replica dies, a replica with a reader takes "
          "the crawl over after at most this long.");
ABSL_FLAG(absl::Duration, database_check_interval, absl::Seconds(2),
          "With --database_url: how often health asks the database whether it "
          "answers (NOT_SERVING while it does not).");
ABSL_FLAG(bool, accept_new_ledger, false,
          "Start even though the invitation ledger in --state_dir is not the one "
          "it had (deleted, emptied or replaced): every invitation sent before is "
          "forgotten, so people may be invited twice.");
ABSL_FLAG(absl::Duration, max_staleness, absl::Hours(6),
          "A complete snapshot younger than this is served without asking "
          "LinkedIn, unless a request sets its own max_staleness.");
ABSL_FLAG(absl::Duration, snapshot_max_age, absl::Hours(7 * 24),
          "Complete snapshots older than this are deleted.");
ABSL_FLAG(int64_t, snapshot_max_bytes, int64_t{1} << 30,
          "The oldest complete snapshots are deleted beyond this total size.");
ABSL_FLAG(int32_t, snapshot_keep_newest, 2,
          "Within --snapshot_max_age a query keeps this many newest complete "
          "snapshots (2 to 1000) and the newest of each UTC day.");
ABSL_FLAG(std::string, watch, "",
          "Followee pages kept warm, e.g. urn:li:organizationalPage:1000,"
          "urn:li:organizationalPage:2000 (all follower kinds): their snapshots are "
          "refreshed every --watch_interval using only LinkedIn budget slots for which "
          "no caller is waiting.");
ABSL_FLAG(absl::Duration, watch_interval, absl::Hours(24),
          "A watched page's snapshot is refreshed once it is this old (at least 1s). "
          "At or below --max_staleness, callers are served the watched snapshot "
          "without a LinkedIn request.");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Seconds(10),
          "A stream waiting for LinkedIn's budget sends a heartbeat this often.");
ABSL_FLAG(int, call_threads, 4,
          "Threads that run every call's steps (storage reads, building pages), however "
          "many calls are open; calls waiting for pages hold none.");
ABSL_FLAG(std::string, connectsafely_base_url, "https://api.connectsafely.ai",
          "ConnectSafely API base URL.");
ABSL_FLAG(std::string, connectsafely_api_key_file, "",
          "File holding the ConnectSafely API key (default: env "
          "CONNECTSAFELY_API_KEY). Without one, invitations are off.");
ABSL_FLAG(absl::Duration, connectsafely_request_timeout, absl::Seconds(30),
          "Timeout of one ConnectSafely request; a request that times out leaves "
          "its profiles UNKNOWN.");
ABSL_FLAG(int, connectsafely_concurrency, 1,
          "ConnectSafely requests in flight at once, over the whole process.");
ABSL_FLAG(int, connectsafely_max_retries, 5,
          "Retries of one request after a 429 or a connection that never opened.");
ABSL_FLAG(absl::Duration, connectsafely_backoff, absl::Seconds(5),
          "Wait before such a retry when ConnectSafely names no delay.");
ABSL_FLAG(int64_t, monthly_invitation_credits, 0,
          "Invitations per company page per UTC calendar month; 0: no budget.");
ABSL_FLAG(std::string, company_invitation_credits, "",
          "Per-company monthly budgets overriding --monthly_invitation_credits, "
          "e.g. 105672170:150,1000:250.");
ABSL_FLAG(int, max_batch_profiles, 10000, "Most profiles accepted in one batch.");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(60),
          "HTTP/2 keepalive ping interval on idle connections.");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "How long to wait for a keepalive ping's answer.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(30),
          "Connections are closed gracefully after this age, so that load spreads "
          "over replicas.");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Minutes(30),
          "Calls still open on an aged connection get this long, then end with "
          "UNAVAILABLE (streams resume with their token).");
ABSL_FLAG(absl::Duration, max_stream_duration, absl::Minutes(50),
          "A stream of pages open this long ends with UNAVAILABLE, a RetryInfo and "
          "its resume token; must be below max_connection_age + "
          "max_connection_age_grace (when not given: at most 5/6 of it).");
ABSL_FLAG(int, max_request_bytes, 4 << 20,
          "Largest request message accepted; larger ones get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, metrics_port, -1,
          "Serve Prometheus metrics at /metrics on this port (0 picks one; -1: off).");
ABSL_FLAG(std::string, callers_file, "",
          "JSON file of the callers allowed in, with their token hashes and "
          "scopes (reloaded on SIGHUP). Without it every caller is served.");
ABSL_FLAG(std::string, tls_cert_file, "", "TLS: the server's certificate chain (PEM).");
ABSL_FLAG(std::string, tls_key_file, "", "TLS: the server's private key (PEM).");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "Mutual TLS: clients must present a certificate signed by this CA (PEM).");
ABSL_FLAG(absl::Duration, drain_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long open streams may go on.");
ABSL_FLAG(bool, sandbox, false,
          "Serve from the built-in LinkedIn sandbox on loopback (no "
          "credentials needed). Unless given explicitly, the interval becomes "
          "0.35s and the backoff 1s.");

namespace followgate {
namespace {

// The exit status when the server does not start: bad usage, bad options,
// an upstream or port that cannot be had.
constexpr int kExitNotStarted = 2;

// Whether `flag` was set on the command line (rather than left at its
// default). abseil 20220623 keeps CommandLineFlag::IsSpecifiedOnCommandLine
// private and reaches it through PrivateHandleAccessor, as its parser does;
// later releases make it public.
template <typename T>
bool GivenOnCommandLine(const absl::Flag<T>& flag) {
  return absl::flags_internal::PrivateHandleAccessor::IsSpecifiedOnCommandLine(
      absl::GetFlagReflectionHandle(flag));
}

// Parses the command line; --help lists the flags of this file only. False
// (after logging why) when an argument is not a flag.
bool ParseFlags(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "followgate gRPC server. Example: followgate_server --sandbox --port=50051");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    LogError(absl::StrCat("unexpected argument \"", positional[1],
                          "\"; every option is a --flag (see --help)"));
    return false;
  }
  return true;
}

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and returns them,
// for WaitForStopSignal to take synchronously. Called before any thread
// starts, so that every thread inherits the mask.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The options the flags say, without the upstreams' credentials (see
// ConnectUpstreams). INVALID_ARGUMENT for a malformed
// --company_invitation_credits or consented member id pattern.
absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.linkedin.base_url = absl::GetFlag(FLAGS_linkedin_base_url);
  options.linkedin.version = absl::GetFlag(FLAGS_linkedin_version);
  options.linkedin_oauth_url = absl::GetFlag(FLAGS_linkedin_oauth_url);
  options.linkedin.request_timeout = absl::GetFlag(FLAGS_linkedin_request_timeout);
  options.linkedin_min_interval = absl::GetFlag(FLAGS_linkedin_min_interval);
  options.fetcher.timeout_backoff = absl::GetFlag(FLAGS_linkedin_timeout_backoff);
  options.fetcher.max_retries = absl::GetFlag(FLAGS_linkedin_max_retries);
  options.linkedin_max_interval = absl::GetFlag(FLAGS_linkedin_max_interval);
  options.fetcher.max_wait = absl::GetFlag(FLAGS_max_upstream_wait);
  options.invitations.max_wait = absl::GetFlag(FLAGS_max_upstream_wait);
  options.max_upstream_body_bytes = absl::GetFlag(FLAGS_max_upstream_body_bytes);
  options.drain_grace = absl::GetFlag(FLAGS_drain_grace);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  options.max_stream_duration = absl::GetFlag(FLAGS_max_stream_duration);
  if (!GivenOnCommandLine(FLAGS_max_stream_duration)) {
    // Left at its default, it stays below a shorter connection age + grace
    // (five sixths of it: 50m of the default 60m).
    options.max_stream_duration = std::min(
        options.max_stream_duration,
        (options.max_connection_age + options.max_connection_age_grace) * 5 / 6);
  }
  options.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  options.callers_file = absl::GetFlag(FLAGS_callers_file);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.state_dir = absl::GetFlag(FLAGS_state_dir);
  options.accept_new_ledger = absl::GetFlag(FLAGS_accept_new_ledger);
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.replica_id = absl::GetFlag(FLAGS_replica_id);
  options.invitation_lease = absl::GetFlag(FLAGS_invitation_lease);
  options.crawl_lease = absl::GetFlag(FLAGS_crawl_lease);
  options.database_check_interval = absl::GetFlag(FLAGS_database_check_interval);
  if (const std::string file = absl::GetFlag(FLAGS_database_password_file); !file.empty()) {
    auto password = ReadSecret(file, "");
    if (!password.ok()) return password.status();
    options.database_password = *std::move(password);
  }
  options.snapshots.default_max_staleness = absl::GetFlag(FLAGS_max_staleness);
  options.snapshots.retention.max_age = absl::GetFlag(FLAGS_snapshot_max_age);
  options.snapshots.retention.max_bytes = absl::GetFlag(FLAGS_snapshot_max_bytes);
  options.snapshots.retention.keep_newest = absl::GetFlag(FLAGS_snapshot_keep_newest);
  auto watched = ParseWatchedPages(absl::GetFlag(FLAGS_watch));
  if (!watched.ok()) return watched.status();
  options.watch.pages = *std::move(watched);
  options.watch.interval = absl::GetFlag(FLAGS_watch_interval);
  options.heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval);
  options.call_threads = absl::GetFlag(FLAGS_call_threads);
  options.connectsafely.base_url = absl::GetFlag(FLAGS_connectsafely_base_url);
  options.connectsafely.request_timeout = absl::GetFlag(FLAGS_connectsafely_request_timeout);
  options.invitations.concurrency = absl::GetFlag(FLAGS_connectsafely_concurrency);
  options.invitations.max_retries = absl::GetFlag(FLAGS_connectsafely_max_retries);
  options.invitations.backoff = absl::GetFlag(FLAGS_connectsafely_backoff);
  options.invitations.monthly_credits = absl::GetFlag(FLAGS_monthly_invitation_credits);
  options.invitations.max_batch_profiles = absl::GetFlag(FLAGS_max_batch_profiles);
  auto company_credits = ParseCompanyCredits(absl::GetFlag(FLAGS_company_invitation_credits));
  if (!company_credits.ok()) return company_credits.status();
  options.invitations.company_credits = *std::move(company_credits);
  auto classifier =
      FollowerClassifier::Create(absl::GetFlag(FLAGS_linkedin_consented_member_id_pattern));
  if (!classifier.ok()) return classifier.status();
  options.linkedin.classifier = *classifier;
  return options;
}

// Sandbox mode paces for the sandbox, unless the operator said otherwise.
void ApplySandboxDefaults(ServerOptions* options) {
  if (!GivenOnCommandLine(FLAGS_linkedin_min_interval)) {
    options->linkedin_min_interval = absl::Milliseconds(350);
  }
  if (!GivenOnCommandLine(FLAGS_linkedin_timeout_backoff)) {
    options->fetcher.timeout_backoff = absl::Seconds(1);
  }
}

// How often a token or key file is checked for a replacement.
constexpr absl::Duration kSecretFileCheckInterval = absl::Seconds(1);

// Fills the LinkedIn token and the ConnectSafely key from their files
// (re-read when replaced, see SecretSource) or environment variables.
// Either may be missing (the server then says what is off); a file that
// cannot be read is an error.
absl::Status ReadUpstreamCredentials(ServerOptions* options) {
  absl::StatusOr<std::shared_ptr<SecretSource>> token =
      SecretSource::Open(absl::GetFlag(FLAGS_linkedin_token_file), "LINKEDIN_ACCESS_TOKEN",
                         Clock::Real(), kSecretFileCheckInterval);
  if (!token.ok() && !absl::IsNotFound(token.status())) return token.status();
  if (token.ok()) {
    options->linkedin.access_token = (*token)->Current().secret;
    options->linkedin.token_source = *token;
  }
  absl::StatusOr<std::shared_ptr<SecretSource>> api_key =
      SecretSource::Open(absl::GetFlag(FLAGS_connectsafely_api_key_file),
                         "CONNECTSAFELY_API_KEY", Clock::Real(), kSecretFileCheckInterval);
  if (!api_key.ok() && !absl::IsNotFound(api_key.status())) return api_key.status();
  if (api_key.ok()) {
    options->connectsafely.api_key = (*api_key)->Current().secret;
    options->connectsafely.api_key_source = *api_key;
  }
  return absl::OkStatus();
}

// A credential's client secret and refresh token, when it names a client
// id; errors name the credential.
absl::Status OpenOAuthSecrets(LinkedInCredential* credential) {
  const LinkedInCredentialConfig& config = credential->config;
  if (config.client_id.empty()) return absl::OkStatus();
  const auto named = [&config](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat("LinkedIn credential \"", config.name,
                                                    "\": ", status.message()));
  };
  absl::StatusOr<std::shared_ptr<SecretSource>> secret = SecretSource::Open(
      config.client_secret_file,
      config.client_secret_env.empty() ? nullptr : config.client_secret_env.c_str(),
      Clock::Real(), kSecretFileCheckInterval);
  if (!secret.ok()) return named(secret.status());
  credential->client_secret = *secret;
  if (config.refresh_token_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> refresh = ReadSecret(config.refresh_token_file, "");
  if (!refresh.ok()) return named(refresh.status());
  credential->refresh_token = *refresh;
  return absl::OkStatus();
}

// Reads --linkedin_credentials_file and opens each credential's token.
// INVALID_ARGUMENT for a file that breaks a rule (naming it) or beside
// --linkedin_token_file; a token that cannot be read is an error.
absl::Status ReadLinkedInCredentials(ServerOptions* options) {
  const std::string path = absl::GetFlag(FLAGS_linkedin_credentials_file);
  if (path.empty()) return absl::OkStatus();
  if (!absl::GetFlag(FLAGS_linkedin_token_file).empty()) {
    return absl::InvalidArgumentError(
        "--linkedin_credentials_file and --linkedin_token_file both name LinkedIn tokens: "
        "give one (a credential of the file may be the token file's)");
  }
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--linkedin_credentials_file ", path, " cannot be read"));
  }
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::vector<LinkedInCredentialConfig>> configs = ParseLinkedInCredentials(json);
  if (!configs.ok()) return configs.status();
  for (LinkedInCredentialConfig& config : *configs) {
    absl::StatusOr<std::shared_ptr<SecretSource>> token = SecretSource::Open(
        config.token_file, config.token_env.empty() ? nullptr : config.token_env.c_str(),
        Clock::Real(), kSecretFileCheckInterval);
    if (!token.ok()) {
      return absl::Status(token.status().code(),
                          absl::StrCat("LinkedIn credential \"", config.name,
                                       "\": ", token.status().message()));
    }
    LinkedInCredential credential{std::move(config), *token};
    if (absl::Status opened = OpenOAuthSecrets(&credential); !opened.ok()) return opened;
    options->linkedin_credentials.push_back(std::move(credential));
  }
  return absl::OkStatus();
}

// The secrets SIGHUP re-reads.
std::vector<std::shared_ptr<SecretSource>> RereadableSecrets(const ServerOptions& options) {
  std::vector<std::shared_ptr<SecretSource>> secrets;
  for (const LinkedInCredential& credential : options.linkedin_credentials) {
    secrets.push_back(credential.token_source);
  }
  for (const auto& source : {options.linkedin.token_source,
                             options.connectsafely.api_key_source}) {
    if (source != nullptr) secrets.push_back(source);
  }
  return secrets;
}

// Points `options` at the upstreams: with --sandbox at sandbox upstreams
// started here (returned; they must outlive the server), otherwise at the
// real ones with their credentials (nullptr is returned).
absl::StatusOr<std::unique_ptr<sandbox::SandboxUpstreams>> ConnectUpstreams(
    ServerOptions* options) {
  if (absl::GetFlag(FLAGS_sandbox)) {
    if (!absl::GetFlag(FLAGS_linkedin_credentials_file).empty()) {
      return absl::InvalidArgumentError(
          "--linkedin_credentials_file names real LinkedIn tokens; --sandbox brings its own");
    }
    ApplySandboxDefaults(options);
    return StartSandboxFor(options);
  }
  if (absl::Status read = ReadLinkedInCredentials(options); !read.ok()) return read;
  if (absl::Status read = ReadUpstreamCredentials(options); !read.ok()) return read;
  return std::unique_ptr<sandbox::SandboxUpstreams>();
}

int StartupFailed(const absl::Status& status) {
  LogError(absl::StrCat("startup failed: ", status.message()));
  return kExitNotStarted;
}

bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Writes the bound port to --port_file, when given; false (after logging
// why) when it cannot.
bool WritePortFileIfAsked(int port) {
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (port_file.empty() || WritePortFile(port_file, port)) return true;
  LogError(absl::StrCat("cannot write --port_file ", port_file));
  return false;
}

// " (plaintext)", " (TLS)" or " (mutual TLS)".
std::string TransportNote(const ServerOptions& options) {
  if (options.tls_cert_file.empty()) return " (plaintext)";
  return options.tls_client_ca_file.empty() ? " (TLS)" : " (mutual TLS)";
}

// Tells the operator what serves where: address and transport, upstreams,
// state, invitations, metrics and caller authentication. `sandbox` is null
// without --sandbox.
void LogServing(const ServerOptions& options, const FollowgateServer& server,
                const sandbox::SandboxUpstreams* sandbox) {
  LogInfo(absl::StrCat(
      "followgate serving on ", options.host, ":", server.port(), TransportNote(options),
      ", upstream ",
      sandbox != nullptr ? absl::StrCat("sandbox at ", sandbox->base_url())
                         : options.linkedin.base_url,
      ", LinkedIn interval ", absl::FormatDuration(options.linkedin_min_interval)));
  LogInfo(server.state_description());
  LogInfo(server.invitations_enabled()
              ? absl::StrCat("invitations on, ConnectSafely at ",
                             sandbox != nullptr ? sandbox->base_url()
                                                : options.connectsafely.base_url)
              : std::string("invitations off: no ConnectSafely API key "
                            "(--connectsafely_api_key_file or CONNECTSAFELY_API_KEY)"));
  if (sandbox != nullptr) {
    LogInfo(absl::StrCat("try: bazel-bin/client/followgate --server=127.0.0.1:", server.port(),
                         " followers urn:li:organizationalPage:1000"));
  }
  if (server.metrics_port() >= 0) {
    LogEvent("INFO", "metrics", {{"port", int64_t{server.metrics_port()}}, {"path", "/metrics"}});
  }
  LogInfo(server.authenticates_callers()
              ? absl::StrCat("callers authenticated from ", options.callers_file,
                             " (SIGHUP reloads it)")
              : std::string("no --callers_file: every caller on this port is served (let a "
                            "mesh sidecar authenticate); callers may name themselves with "
                            "the x-followgate-caller header"));
}

// Waits for SIGTERM or SIGINT and returns it; each SIGHUP on the way reloads
// the callers file (a bad one keeps the old callers) and re-reads the token
// and key files (a bad one keeps the secret in use).
int WaitForStopSignal(const sigset_t& signals, FollowgateServer& server,
                      const std::vector<std::shared_ptr<SecretSource>>& secrets) {
  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) return signal_number;
    for (const std::shared_ptr<SecretSource>& secret : secrets) {
      const absl::Status reread = secret->Reload();
      LogInfo(reread.ok() ? absl::StrCat("SIGHUP: ", secret->origin(), " re-read")
                          : absl::StrCat("SIGHUP: ", secret->origin(),
                                         " NOT re-read, keeping the secret in use: ",
                                         reread.message()));
    }
    const absl::Status reloaded = server.ReloadCallers();
    LogInfo(reloaded.ok() ? std::string("SIGHUP: callers file reloaded")
                          : absl::StrCat("SIGHUP: callers file NOT reloaded, keeping the old "
                                         "callers: ",
                                         reloaded.message()));
  }
}

// Drains open streams for up to --drain_grace, then stops.
void Shutdown(FollowgateServer& server, int signal_number, absl::Duration drain_grace) {
  LogInfo(absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                       ", draining for up to ", absl::FormatDuration(drain_grace)));
  server.Shutdown();
  LogInfo("followgate stopped");
}

}  // namespace
}  // namespace followgate

int main(int argc, char** argv) {
  if (!followgate::ParseFlags(argc, argv)) return followgate::kExitNotStarted;
  // Before any thread starts (the sandbox's, the server's): they inherit it.
  const sigset_t stop_signals = followgate::BlockStopSignals();
  absl::StatusOr<followgate::ServerOptions> options = followgate::OptionsFromFlags();
  if (!options.ok()) return followgate::StartupFailed(options.status());
  // Declared before the server, destroyed after it.
  absl::StatusOr<std::unique_ptr<followgate::sandbox::SandboxUpstreams>> sandbox =
      followgate::ConnectUpstreams(&*options);
  if (!sandbox.ok()) return followgate::StartupFailed(sandbox.status());
  absl::StatusOr<std::unique_ptr<followgate::FollowgateServer>> server =
      followgate::FollowgateServer::BuildAndStart(*options);
  if (!server.ok()) return followgate::StartupFailed(server.status());
  if (!followgate::WritePortFileIfAsked((*server)->port())) return followgate::kExitNotStarted;
  followgate::LogServing(*options, **server, sandbox->get());
  const int signal_number = followgate::WaitForStopSignal(stop_signals, **server,
                                                           followgate::RereadableSecrets(*options));
  followgate::Shutdown(**server, signal_number, options->drain_grace);
  return 0;
}
