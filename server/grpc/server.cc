#include "server/grpc/server.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include <unistd.h>

#include "server/storage/budget_mark.h"
#include "server/storage/database_watch.h"
#include "server/storage/pg_db.h"
#include "server/base/state_blob.h"
#include "server/storage/pg_fleet_secrets.h"
#include "server/follows/fleet_budget.h"
#include "server/follows/follows_routes.h"
#include "server/upstream/linkedin_oauth.h"
#include "server/upstream/token_keeper.h"
#include "server/follows/pg_crawl_registry.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/invitations/pg_invitation_ledger.h"
#include "server/grpc/caller_auth.h"
#include "server/base/clock.h"
#include "server/upstream/curl_http_client.h"
#include "server/upstream/recording_http_client.h"
#include "server/base/error_details.h"
#include "server/grpc/follows_service.h"
#include "server/invitations/invitation_ledger.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/grpc/invitations_service.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/status_macros.h"
#include "server/base/timer_queue.h"
#include "server/base/work_queue.h"
#include "server/grpc/call_scope.h"
#include "server/grpc/source_reactor.h"
#include "server/grpc/stream_tracker.h"
#include "server/follows/request_pacer.h"
#include "server/follows/resume_token.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/base/redaction.h"
#include "server/base/secrets.h"
#include "server/grpc/state_dir.h"

namespace followgate {

std::string LinkedInCredentialHealthName(const std::string& credential) {
  return absl::StrCat("followgate.linkedin.credential.", credential);
}

struct FollowgateServer::Parts {
  // Declared first, destroyed last: the state dir stays locked until every
  // part that writes into it is gone.
  std::unique_ptr<StateDir> state;
  ServerOptions options;
  std::unique_ptr<CurlHttpClient> curl;
  std::unique_ptr<RecordingHttpClient> http;  // Over curl: every upstream request is logged.
  // One per budget, before the pacers that write them.
  std::vector<std::unique_ptr<BudgetMark>> budget_marks;
  // By budget name. One process: RequestPacers; a fleet: FleetBudgets.
  std::map<std::string, std::unique_ptr<UpstreamBudget>> budgets;
  // Each LinkedIn credential: its client (token) and fetcher (budget).
  struct Credential {
    std::string name;
    std::unique_ptr<LinkedInClient> client;
    std::unique_ptr<FollowsFetcher> fetcher;
    // Whether LinkedIn accepted its token last time (health, metrics).
    std::atomic<bool> accepted{true};
    // Its token's keeper, when it names a client id (not owned).
    TokenKeeper* keeper = nullptr;
  };
  std::vector<std::unique_ptr<Credential>> credentials;
  std::unique_ptr<FollowsRoutes> routes;  // Queries to credentials.
  // Credentials that name a client id: OAuth, and the keeper of each token
  // (after the clients they use, so destroyed before them).
  std::vector<std::unique_ptr<LinkedInOAuthClient>> oauth_clients;
  std::vector<std::unique_ptr<TokenKeeper>> token_keepers;
  std::unique_ptr<SnapshotStore> snapshot_store;
  std::unique_ptr<PgCrawlRegistry> crawl_registry;  // A fleet's; outlives the hub.
  std::unique_ptr<SnapshotHub> snapshot_hub;
  std::unique_ptr<PageWatcher> watcher;  // After the hub: destroyed before it.
  std::unique_ptr<ResumeTokenCodec> resume_tokens;
  std::unique_ptr<InvitationLedger> ledger;
  std::unique_ptr<ConnectSafelyClient> connectsafely;
  std::unique_ptr<InvitationBatcher> batcher;
  StreamTracker streams;
  // Where every call's steps and heartbeats run; after the hub and stores
  // they read, so destroyed before them.
  std::unique_ptr<WorkQueue> work;
  std::unique_ptr<TimerQueue> timers;
  std::unique_ptr<CallerAuth> auth;
  std::unique_ptr<FollowsServiceImpl> follows_service;
  std::unique_ptr<InvitationsServiceImpl> invitations_service;
  std::unique_ptr<grpc::Server> grpc_server;
  // After grpc_server, so destroyed before it: it updates its health.
  std::unique_ptr<DatabaseWatch> database_watch;
  std::string database_target;  // The database as logs name it.
  int port = 0;
  int metrics_port = -1;
  // What health reports: the server and its services SERVING once started,
  // unless draining (or, in a fleet, while the database does not answer):
  // warm snapshots and invitations are served whatever LinkedIn thinks of
  // the token. A credential LinkedIn rejects is NOT_SERVING under its own
  // name (LinkedInCredentialHealthName) only.
  std::atomic<bool> started{false};
  // With a database: whether it answers (DatabaseWatch). Every service
  // needs it then.
  std::atomic<bool> database_ok{true};
  void UpdateHealth() {
    if (grpc_server == nullptr) return;
    grpc::HealthCheckServiceInterface* health = grpc_server->GetHealthCheckService();
    if (health == nullptr) return;
    const bool up = started && !streams.draining() && database_ok;
    health->SetServingStatus("followgate.v1.FollowsService", up);
    health->SetServingStatus("followgate.v1.InvitationsService", up && batcher != nullptr);
    for (const auto& credential : credentials) {
      health->SetServingStatus(LinkedInCredentialHealthName(credential->name),
                               up && credential->accepted);
    }
    health->SetServingStatus("", up);
  }
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  // LinkedIn accepted (or rejected) `credential`'s token.
  void CredentialChecked(Credential* credential, bool accepted);
  // Starts the keeper of `credential`'s token (refresh, expiry).
  absl::Status KeepToken(const LinkedInCredential& credential, Clock* clock);
  // The budget named `name`, made on first use.
  absl::StatusOr<UpstreamBudget*> BudgetNamed(const std::string& name, bool several,
                                              Clock* clock);

  // BuildAndStart's steps, in order.
  absl::Status BuildUpstream(Clock* clock);
  absl::Status BuildFollows(Clock* clock);
  absl::Status BuildInvitations(Clock* clock);
  absl::Status BuildServices(Clock* clock);
  absl::Status StartGrpc();
  absl::Status WatchDatabase(Clock* clock);

  bool fleet() const { return !options.database_url.empty(); }
  // A connection to the fleet's database.
  absl::StatusOr<std::unique_ptr<PgDb>> ConnectDatabase() const {
    return PgDb::Connect(options.database_url, options.database_password);
  }
};

namespace {

absl::Status Validate(const ServerOptions& options) {
  if (options.max_stream_duration <= absl::ZeroDuration() ||
      options.max_stream_duration >=
          options.max_connection_age + options.max_connection_age_grace) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_stream_duration must be positive and below max_connection_age + "
        "max_connection_age_grace (",
        absl::FormatDuration(options.max_connection_age + options.max_connection_age_grace),
        "), so that streams end with their resume token before the connection is cut; got ",
        absl::FormatDuration(options.max_stream_duration)));
  }
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
  if (options.linkedin_max_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("linkedin_max_interval must not be negative");
  }
  if (options.fetcher.max_wait <= absl::ZeroDuration() ||
      options.invitations.max_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_upstream_wait must be positive");
  }
  if (options.max_upstream_body_bytes < 1024) {
    return absl::InvalidArgumentError("max_upstream_body_bytes must be at least 1024");
  }
  const std::string& version = options.linkedin.version;
  if (version.size() != 6 || version.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linkedin_version must be YYYYMM (e.g. 202510), got \"", version, "\""));
  }
  if (options.linkedin.access_token.empty() && options.linkedin_credentials.empty()) {
    return absl::FailedPreconditionError(
        "no LinkedIn access token: pass --linkedin_token_file or set "
        "LINKEDIN_ACCESS_TOKEN, or run with --sandbox");
  }
  const InvitationBatcherOptions& inv = options.invitations;
  if (inv.concurrency < 1) {
    return absl::InvalidArgumentError("connectsafely_concurrency must be at least 1");
  }
  if (inv.max_retries < 0) {
    return absl::InvalidArgumentError("connectsafely_max_retries must not be negative");
  }
  if (inv.max_batch_profiles < 1) {
    return absl::InvalidArgumentError("max_batch_profiles must be at least 1");
  }
  if (inv.monthly_credits < 0) {
    return absl::InvalidArgumentError("monthly_invitation_credits must not be negative");
  }
  if (options.call_threads < 1) {
    return absl::InvalidArgumentError("call_threads must be at least 1");
  }
  if (options.heartbeat_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("heartbeat_interval must be positive");
  }
  if (options.snapshots.default_max_staleness < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_staleness must not be negative");
  }
  if (options.snapshots.retention.keep_newest < 2 ||
      options.snapshots.retention.keep_newest > 1000) {
    return absl::InvalidArgumentError(
        "snapshot_keep_newest must be 2 to 1000 (changes compare the two newest)");
  }
  if (options.watch.interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("watch_interval must be at least 1s");
  }
  if (options.snapshots.retention.max_bytes < 0) {
    return absl::InvalidArgumentError("snapshot_max_bytes must not be negative");
  }
  if (options.max_request_bytes < 1024) {
    return absl::InvalidArgumentError("max_request_bytes must be at least 1024");
  }
  if (options.connectsafely.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connectsafely_request_timeout must be positive");
  }
  if (!options.database_url.empty() && !options.state_dir.empty()) {
    return absl::InvalidArgumentError(
        "state_dir and database_url are two homes for the same state: give one "
        "(followgate_import moves a state dir into the database)");
  }
  if (options.database_check_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("database_check_interval must be positive");
  }
  if (options.crawl_lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("crawl_lease must be positive");
  }
  if (options.invitation_lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("invitation_lease must be positive");
  }
  if (!options.connectsafely.api_key.empty() && options.state_dir.empty() &&
      options.database_url.empty()) {
    return absl::FailedPreconditionError(
        "invitations need --state_dir or --database_url (where the invitation ledger lives)");
  }
  return absl::OkStatus();
}

// Insecure without certificates; TLS with them; mutual TLS with a client CA.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "tls_client_ca_file needs tls_cert_file and tls_key_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both tls_cert_file and tls_key_file");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  auto key = ReadFlagFile(options.tls_key_file, "tls_key_file");
  if (!key.ok()) return key.status();
  auto cert = ReadFlagFile(options.tls_cert_file, "tls_cert_file");
  if (!cert.ok()) return cert.status();
  pair.private_key = *key;
  pair.cert_chain = *cert;
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!options.tls_client_ca_file.empty()) {
    auto ca = ReadFlagFile(options.tls_client_ca_file, "tls_client_ca_file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// Resume tokens outlive the process with the state they point into: the
// key is kept beside it. Without a state dir snapshots die with the process,
// and so may the key.
absl::StatusOr<ResumeTokenCodec> ResumeTokenCodecFor(const std::string& state_dir) {
  if (state_dir.empty()) return ResumeTokenCodec::WithRandomKey();
  return ResumeTokenCodec::FromKeyFile(state_dir + "/resume_token.key");
}

// A fleet's replicas share one key, kept in the database: a token made by
// one checks on every other.
absl::StatusOr<ResumeTokenCodec> FleetResumeTokenCodec(PgDb& db) {
  FG_RETURN_IF_ERROR(MigrateFleetSecrets(db));
  FG_ASSIGN_OR_RETURN(std::string key, GetOrCreateFleetSecret(db, kResumeTokenKeySecret,
                                                              &ResumeTokenCodec::NewKey));
  if (key.size() != ResumeTokenCodec::kKeyBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database's resume token key holds ", key.size(), " bytes, not ",
                     ResumeTokenCodec::kKeyBytes));
  }
  return ResumeTokenCodec(std::move(key));
}

// "<hostname>:<port>", or "<hostname>:pid<pid>" when the port is picked.
std::string DefaultReplicaId(int port) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  const std::string name = host[0] == '\0' ? "followgate" : host;
  if (port != 0) return absl::StrCat(name, ":", port);
  return absl::StrCat(name, ":pid", getpid());
}

}  // namespace

void FollowgateServer::Parts::CredentialChecked(Credential* credential, bool accepted) {
  if (options.fetcher.on_credential_checked) options.fetcher.on_credential_checked(accepted);
  // A refresh may bring a token LinkedIn accepts.
  if (!accepted && credential->keeper != nullptr) credential->keeper->Rejected();
  if (credential->accepted.exchange(accepted) == accepted) return;
  const std::string& name = credential->name;
  Metrics::Get().SetLinkedInCredentialRejected(name, !accepted);
  LogInfo(absl::StrCat("LinkedIn ", accepted ? "accepts" : "rejects", " credential \"", name,
                       "\": ", LinkedInCredentialHealthName(name), " ",
                       accepted ? "SERVING again"
                                : "NOT_SERVING until it accepts it (the server, warm "
                                  "snapshots and the other credentials stay SERVING)"));
  UpdateHealth();
}

// One process: a pacer, restored from the state dir's budget mark, so that
// a restart never starts a request closer than the interval to the last
// one. A fleet: the budget in the database. The one budget of a single
// credential keeps the names of earlier releases ("linkedin",
// linkedin_budget); several are "linkedin:<name>", linkedin_budget.<name>.
absl::StatusOr<UpstreamBudget*> FollowgateServer::Parts::BudgetNamed(const std::string& name,
                                                                     bool several,
                                                                     Clock* clock) {
  if (auto it = budgets.find(name); it != budgets.end()) return it->second.get();
  const absl::Duration max_interval = std::min(
      options.linkedin_max_interval > absl::ZeroDuration() ? options.linkedin_max_interval
                                                           : 8 * options.linkedin_min_interval,
      std::max(options.fetcher.max_wait, options.linkedin_min_interval));
  std::unique_ptr<UpstreamBudget> budget;
  if (fleet()) {
    // The database times the fleet's grants; it survives every replica.
    FleetBudgetOptions fleet_options;
    fleet_options.url = options.database_url;
    fleet_options.password = options.database_password;
    fleet_options.name = several ? absl::StrCat("linkedin:", name) : "linkedin";
    fleet_options.interval = options.linkedin_min_interval;
    fleet_options.max_interval = max_interval;
    fleet_options.replica_id = options.replica_id;
    fleet_options.clock = clock;
    FG_ASSIGN_OR_RETURN(budget, FleetBudget::Create(fleet_options));
  } else {
    auto pacer =
        std::make_unique<RequestPacer>(clock, options.linkedin_min_interval, max_interval);
    if (state != nullptr) {
      const std::string file = absl::StrCat(options.state_dir, "/linkedin_budget",
                                            several ? absl::StrCat(".", name) : "");
      FG_ASSIGN_OR_RETURN(std::unique_ptr<BudgetMark> mark, BudgetMark::Open(file));
      pacer->RestoreNextGrant(mark->Stored(clock->Now(), options.linkedin_min_interval));
      BudgetMark* raw = mark.get();
      pacer->SetNextGrantListener([raw](absl::Time next_grant) { raw->Record(next_grant); });
      budget_marks.push_back(std::move(mark));
    }
    budget = std::move(pacer);
  }
  UpstreamBudget* raw = budget.get();
  budgets.emplace(name, std::move(budget));
  return raw;
}

absl::Status FollowgateServer::Parts::KeepToken(const LinkedInCredential& credential,
                                                Clock* clock) {
  const LinkedInCredentialConfig& config = credential.config;
  if (config.client_id.empty()) return absl::OkStatus();
  LinkedInOAuthOptions oauth_options;
  oauth_options.base_url = options.linkedin_oauth_url;
  oauth_options.client_id = config.client_id;
  oauth_options.client_secret = credential.client_secret;
  oauth_options.request_timeout = options.linkedin.request_timeout;
  oauth_options.credential = config.name;
  oauth_clients.push_back(std::make_unique<LinkedInOAuthClient>(http.get(), clock, oauth_options));
  TokenKeeperOptions keeper_options;
  keeper_options.credential = config.name;
  keeper_options.refresh_token = credential.refresh_token;
  // Refreshed tokens are kept with the other state: beside it in the state
  // dir, or in the fleet's database, shared by the replicas.
  if (!credential.refresh_token.empty()) {
    if (fleet()) {
      keeper_options.state = FleetSecretBlob(options.database_url, options.database_password,
                                             absl::StrCat("linkedin_token:", config.name));
    } else if (state != nullptr) {
      keeper_options.state = FileStateBlob(
          absl::StrCat(options.state_dir, "/linkedin_token.", config.name, ".json"));
    }
  }
  token_keepers.push_back(std::make_unique<TokenKeeper>(
      oauth_clients.back().get(), credential.token_source, clock, keeper_options));
  return token_keepers.back()->Start();
}

// The LinkedIn side: HTTP, and for each credential its client, budget and
// fetcher; the routes from queries to them.
absl::Status FollowgateServer::Parts::BuildUpstream(Clock* clock) {
  CurlHttpClientOptions http_options;
  http_options.max_body_bytes = static_cast<size_t>(options.max_upstream_body_bytes);
  curl = std::make_unique<CurlHttpClient>(http_options);
  http = std::make_unique<RecordingHttpClient>(curl.get(), clock);
  const bool several = !options.linkedin_credentials.empty();
  std::vector<LinkedInCredentialConfig> configs;
  std::vector<FollowsRoute> routes_list;
  const size_t count = several ? options.linkedin_credentials.size() : 1;
  for (size_t i = 0; i < count; ++i) {
    LinkedInClientOptions client_options = options.linkedin;
    std::string budget_name = kDefaultCredentialName;
    if (several) {
      const LinkedInCredential& configured = options.linkedin_credentials[i];
      configs.push_back(configured.config);
      client_options.credential_name = configured.config.name;
      client_options.token_source = configured.token_source;
      client_options.access_token = configured.token_source->Current().secret;
      budget_name = configured.config.budget;
      FG_RETURN_IF_ERROR(KeepToken(configured, clock));
    }
    FG_ASSIGN_OR_RETURN(UpstreamBudget* const budget, BudgetNamed(budget_name, several, clock));
    auto credential = std::make_unique<Credential>();
    if (several && !options.linkedin_credentials[i].config.client_id.empty()) {
      credential->keeper = token_keepers.back().get();
    }
    credential->name = client_options.credential_name;
    credential->client = std::make_unique<LinkedInClient>(http.get(), clock, client_options);
    FollowsFetcherOptions fetcher_options = options.fetcher;
    Credential* raw = credential.get();
    fetcher_options.on_credential_checked = [this, raw](bool accepted) {
      CredentialChecked(raw, accepted);
    };
    credential->fetcher = std::make_unique<FollowsFetcher>(credential->client.get(), budget,
                                                           clock, fetcher_options);
    routes_list.push_back(FollowsRoute{credential->fetcher.get(), budget, credential->name});
    Metrics::Get().SetLinkedInCredentialRejected(credential->name, false);
    credentials.push_back(std::move(credential));
  }
  if (several) {
    routes = std::make_unique<CredentialRoutes>(CredentialRouter(configs), routes_list);
  } else {
    routes = std::make_unique<SingleRoute>(routes_list[0].fetcher, routes_list[0].budget);
  }
  return absl::OkStatus();
}

// Snapshots, their hub (after retention) and the resume token key.
absl::Status FollowgateServer::Parts::BuildFollows(Clock* clock) {
  // The fleet's database; else SQLite under the state dir; in memory only
  // without one.
  if (fleet()) {
    FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, ConnectDatabase());
    FG_ASSIGN_OR_RETURN(ResumeTokenCodec codec, FleetResumeTokenCodec(*db));
    resume_tokens = std::make_unique<ResumeTokenCodec>(std::move(codec));
    FG_ASSIGN_OR_RETURN(snapshot_store, PgSnapshotStore::Open(std::move(db), clock));
    PgCrawlRegistryOptions registry_options;
    registry_options.url = options.database_url;
    registry_options.password = options.database_password;
    registry_options.replica_id = options.replica_id;
    registry_options.lease = options.crawl_lease;
    registry_options.clock = clock;
    FG_ASSIGN_OR_RETURN(crawl_registry, PgCrawlRegistry::Create(registry_options));
  } else {
    const std::string snapshots_file = state == nullptr ? "" : state->SnapshotsFile();
    FG_ASSIGN_OR_RETURN(snapshot_store, SqliteSnapshotStore::Open(snapshots_file, clock));
    FG_ASSIGN_OR_RETURN(ResumeTokenCodec codec, ResumeTokenCodecFor(options.state_dir));
    resume_tokens = std::make_unique<ResumeTokenCodec>(std::move(codec));
  }
  snapshot_hub = std::make_unique<SnapshotHub>(snapshot_store.get(), routes.get(), clock,
                                               options.snapshots, crawl_registry.get());
  if (absl::Status pruned = snapshot_hub->Prune(); !pruned.ok()) {
    // A full disk must not keep the server from serving what is stored.
    if (ErrorReason(pruned) != "STORAGE_FULL") return pruned;
    LogError(absl::StrCat("retention skipped: ", pruned.message()));
  }
  if (!options.watch.pages.empty()) {
    watcher = std::make_unique<PageWatcher>(snapshot_hub.get(), snapshot_store.get(), clock,
                                            options.watch);
  }
  return absl::OkStatus();
}

// The ledger (bound to the state dir's identity), ConnectSafely and the
// batcher; nothing without a ConnectSafely key.
absl::Status FollowgateServer::Parts::BuildInvitations(Clock* clock) {
  if (options.connectsafely.api_key.empty()) return absl::OkStatus();
  if (fleet()) {
    PgInvitationLedgerOptions ledger_options;
    ledger_options.url = options.database_url;
    ledger_options.password = options.database_password;
    ledger_options.owner = options.replica_id;
    ledger_options.lease = options.invitation_lease;
    // Renews this replica's chunks and turns a dead one's UNKNOWN once its
    // lease passed, without waiting for a call to look.
    ledger_options.maintenance_interval = options.invitation_lease / 4;
    FG_ASSIGN_OR_RETURN(ledger, PgInvitationLedger::Open(ledger_options, clock));
  } else {
    FG_ASSIGN_OR_RETURN(ledger, SqliteInvitationLedger::Open(state->LedgerFile(), clock));
    FG_RETURN_IF_ERROR(state->BindLedger(*ledger, options.accept_new_ledger));
  }
  connectsafely = std::make_unique<ConnectSafelyClient>(http.get(), clock, options.connectsafely);
  batcher = std::make_unique<InvitationBatcher>(ledger.get(), connectsafely.get(), clock,
                                                options.invitations);
  return absl::OkStatus();
}

// Callers, the services, and the threads that every call's steps and
// heartbeats share.
absl::Status FollowgateServer::Parts::BuildServices(Clock* clock) {
  FG_ASSIGN_OR_RETURN(auth, CallerAuth::Create(options.callers_file));
  work = std::make_unique<WorkQueue>(options.call_threads);
  timers = std::make_unique<TimerQueue>(clock);
  const CallEnvironment env{auth.get(), &streams, clock};
  const CallRuntime runtime{work.get(), timers.get(), &streams, clock,
                            options.max_stream_duration};
  follows_service = std::make_unique<FollowsServiceImpl>(
      snapshot_hub.get(), snapshot_store.get(), clock, options.heartbeat_interval,
      resume_tokens.get(), env, runtime);
  invitations_service = std::make_unique<InvitationsServiceImpl>(batcher.get(), env, runtime);
  return absl::OkStatus();
}

// Listens and serves, with health and reflection.
absl::Status FollowgateServer::Parts::StartGrpc() {
  FG_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                      ServerCredentialsFor(options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // Linked in so that reflection can describe grpc.health.v1 to tools.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port), credentials, &port);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  // gRPC sets SO_REUSEPORT by default, so that a second server on the same
  // port would bind silently and take half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  auto millis = [](absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
  };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, millis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, millis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients may ping every 10 s (heartbeats keep long streams busy anyway).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, millis(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             millis(options.max_connection_age_grace));
  builder.RegisterService(follows_service.get());
  builder.RegisterService(invitations_service.get());
  grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.host, ":", options.port,
        ": the port is in use (another followgate on it?) or the address is not local"));
  }
  if (options.metrics_port >= 0) {
    FG_ASSIGN_OR_RETURN(metrics_port,
                        Metrics::Get().Expose(absl::StrCat(options.host, ":", options.metrics_port)));
  }
  return absl::OkStatus();
}

// With a database, health follows whether it answers.
absl::Status FollowgateServer::Parts::WatchDatabase(Clock* clock) {
  if (!fleet()) return absl::OkStatus();
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, ConnectDatabase());
  database_target = db->target();
  database_watch = std::make_unique<DatabaseWatch>(
      std::move(db), clock, options.database_check_interval, [this](bool reachable) {
        database_ok = reachable;
        UpdateHealth();
      });
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FollowgateServer>> FollowgateServer::BuildAndStart(
    ServerOptions options) {
  FG_RETURN_IF_ERROR(Validate(options));
  if (!options.database_url.empty()) {
    RegisterSecret(options.database_password);
    if (options.replica_id.empty()) options.replica_id = DefaultReplicaId(options.port);
  }
  auto parts = std::make_unique<Parts>();
  // However they were given (a file, the sandbox's built-in ones, a test's
  // options), no outgoing text may hold the credentials.
  RegisterSecret(options.linkedin.access_token);
  RegisterSecret(options.connectsafely.api_key);
  parts->options = options;
  Clock* clock = Clock::Real();
  if (!options.state_dir.empty()) {
    FG_ASSIGN_OR_RETURN(parts->state, StateDir::Open(options.state_dir));
  }
  FG_RETURN_IF_ERROR(parts->BuildUpstream(clock));
  FG_RETURN_IF_ERROR(parts->BuildFollows(clock));
  FG_RETURN_IF_ERROR(parts->BuildInvitations(clock));
  FG_RETURN_IF_ERROR(parts->BuildServices(clock));
  FG_RETURN_IF_ERROR(parts->StartGrpc());
  FG_RETURN_IF_ERROR(parts->WatchDatabase(clock));
  parts->started = true;
  parts->UpdateHealth();
  if (parts->watcher != nullptr) parts->watcher->Start();
  return std::unique_ptr<FollowgateServer>(new FollowgateServer(std::move(parts)));
}

FollowgateServer::FollowgateServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

FollowgateServer::~FollowgateServer() { Shutdown(); }

int FollowgateServer::port() const { return parts_->port; }

std::string FollowgateServer::state_dir() const { return parts_->options.state_dir; }

std::string FollowgateServer::state_description() const {
  const ServerOptions& options = parts_->options;
  if (parts_->fleet()) {
    return absl::StrCat("state in PostgreSQL (", parts_->database_target, "), replica ",
                        options.replica_id);
  }
  if (options.state_dir.empty()) return "no --state_dir: follows snapshots live in memory only";
  return absl::StrCat("state in ", options.state_dir);
}

std::string FollowgateServer::replica_id() const {
  return parts_->fleet() ? parts_->options.replica_id : "";
}

bool FollowgateServer::invitations_enabled() const { return parts_->batcher != nullptr; }

absl::Status FollowgateServer::ReloadCallers() { return parts_->auth->Reload(); }

bool FollowgateServer::authenticates_callers() const { return parts_->auth->enabled(); }

int FollowgateServer::metrics_port() const { return parts_->metrics_port; }

void FollowgateServer::Shutdown() {
  absl::MutexLock lock(&parts_->shutdown_mu);
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  // Health turns NOT_SERVING and new calls are refused (SERVER_DRAINING)
  // while open streams get drain_grace; then they end with UNAVAILABLE and
  // their resume token, so that callers continue elsewhere.
  parts_->streams.StartDraining();
  parts_->UpdateHealth();
  if (!parts_->streams.WaitUntilNoneLive(parts_->options.drain_grace)) {
    parts_->streams.AbortAll(DrainingStatus());
  }
  parts_->grpc_server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  parts_->grpc_server->Wait();
  parts_->streams.WaitUntilNoneLive();  // Their producers have stopped.
  parts_->watcher.reset();              // Lets go of its crawl.
  parts_->snapshot_hub.reset();         // Stops the crawls.
}

}  // namespace followgate
