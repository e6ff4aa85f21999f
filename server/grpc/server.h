// Assembles followgate: upstream adapters, core and gRPC services.
#ifndef FOLLOWGATE_SERVER_GRPC_SERVER_H_
#define FOLLOWGATE_SERVER_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/upstream/connectsafely_client.h"
#include "server/follows/follows_fetcher.h"
#include "server/invitations/invitation_batcher.h"
#include "server/upstream/linkedin_client.h"
#include "server/upstream/linkedin_credentials.h"
#include "server/follows/page_watcher.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// The health service name of a LinkedIn credential: NOT_SERVING while
// LinkedIn rejects it (401), e.g. "followgate.linkedin.credential.default".
std::string LinkedInCredentialHealthName(const std::string& credential);

// A credential of --linkedin_credentials_file, its token opened.
struct LinkedInCredential {
  LinkedInCredentialConfig config;
  std::shared_ptr<SecretSource> token_source;
  // With config.client_id: the application's secret, and the refresh token
  // as its file held it at startup (empty: none, introspection only).
  std::shared_ptr<SecretSource> client_secret;
  std::string refresh_token;
};

struct ServerOptions {
  // Address to listen on; port 0 picks a free port (see FollowgateServer::port).
  std::string host = "0.0.0.0";
  int port = 50051;
  LinkedInClientOptions linkedin;
  // Several LinkedIn credentials (--linkedin_credentials_file): follows
  // queries are routed by page (CredentialRouter), each credential spends
  // its budget (one request per linkedin_min_interval per budget), and
  // `linkedin`'s token is unused. Empty: the one credential of `linkedin`,
  // named "default", for every page.
  std::vector<LinkedInCredential> linkedin_credentials;
  // Where LinkedIn's OAuth endpoints live (refresh, introspection).
  std::string linkedin_oauth_url = "https://www.linkedin.com";
  // No two LinkedIn requests of the process start closer than this.
  absl::Duration linkedin_min_interval = absl::Seconds(60);
  // The ceiling of the adaptive interval (see RequestPacer); zero: 8 times
  // linkedin_min_interval. Never above fetcher.max_wait.
  absl::Duration linkedin_max_interval = absl::ZeroDuration();
  // Largest upstream response body read (see CurlHttpClientOptions).
  int64_t max_upstream_body_bytes = 16 << 20;
  FollowsFetcherOptions fetcher;
  // Where durable state lives: follows snapshots and the invitation ledger.
  // Created if missing. Required for invitations; without it snapshots live
  // in memory only.
  std::string state_dir;
  // Start even though the state dir's invitation ledger is not the one it
  // had (deleted, emptied or replaced): every invitation sent before is
  // forgotten, so people may be invited twice.
  bool accept_new_ledger = false;
  // The shared state of a fleet of replicas (see the README's "Replicas"):
  // a libpq URL (postgresql://user@host:port/db). With it, snapshots, resume
  // tokens, the invitation ledger and the LinkedIn budget live in
  // PostgreSQL and `state_dir` must be empty; without it, one process keeps
  // them under `state_dir`.
  std::string database_url;
  // Overrides the URL's password when not empty; otherwise libpq looks one
  // up as usual (PGPASSWORD, PGPASSFILE, ~/.pgpass). Never logged.
  std::string database_password;
  // This replica's name in the fleet: the owner of its invitation chunks,
  // crawl leases and budget waits. Unique in the fleet and the same across
  // its restarts; empty: "<hostname>:<port>" (or ":pid<pid>" with port 0).
  std::string replica_id;
  // A crawl's lease in the database lives this long after the last renewal
  // (every third of it): a replica that dies mid-crawl holds up the readers
  // on other replicas at most this long before one of them takes over.
  absl::Duration crawl_lease = absl::Seconds(15);
  // How often health asks the database whether it answers.
  absl::Duration database_check_interval = absl::Seconds(2);
  // How long a replica's invitation requests in flight count as alive after
  // it last renewed them: once it has passed since a replica died, others
  // record them UNKNOWN. Must exceed the longest ConnectSafely request.
  absl::Duration invitation_lease = absl::Minutes(5);
  // Snapshot freshness and retention.
  SnapshotHubOptions snapshots;
  // Pages kept warm with idle budget slots (--watch); none by default.
  PageWatcherOptions watch;
  // Threads that run every call's steps (storage reads, building pages),
  // however many calls are open; waiting calls hold none. Crawls and
  // invitation batches, which block on upstream requests, have a thread each.
  int call_threads = 4;
  // A stream waiting for LinkedIn's budget sends a heartbeat this often.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // Invitations are served when `connectsafely.api_key` is set; otherwise
  // InvitationsService answers FAILED_PRECONDITION.
  ConnectSafelyClientOptions connectsafely;
  InvitationBatcherOptions invitations;
  // On Shutdown, how long open streams may go on before they end with
  // UNAVAILABLE (and their resume token).
  absl::Duration drain_grace = absl::Seconds(10);
  // HTTP/2 keepalive pings to idle connections, and how long to wait for the
  // answer.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Connections are closed (gracefully) after this age, so that load spreads
  // over replicas behind a load balancer; calls still open get the grace,
  // then end with UNAVAILABLE (streams resume with their token).
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Minutes(30);
  // A stream of pages open this long ends with UNAVAILABLE (reason
  // STREAM_DURATION), a RetryInfo and its resume token, before gRPC's
  // connection age cuts it without one: must be positive and below
  // max_connection_age + max_connection_age_grace.
  absl::Duration max_stream_duration = absl::Minutes(50);
  // Largest request message accepted (RESOURCE_EXHAUSTED beyond).
  int max_request_bytes = 4 << 20;
  // Serve Prometheus metrics on this port (0 picks one; -1: off).
  int metrics_port = -1;
  // Callers file (see caller_auth.h); "" lets every caller in.
  std::string callers_file;
  // TLS: the server's certificate chain and key (PEM files); with
  // `tls_client_ca_file`, clients must present a certificate it signed.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

// Owns everything the server runs on. Thread-safe.
class FollowgateServer {
 public:
  // Starts serving, or returns why it cannot (INVALID_ARGUMENT for a bad
  // option, UNAVAILABLE when the port cannot be bound or is in use,
  // FAILED_PRECONDITION when another process holds the state dir or its
  // ledger is not the one it had; see StateDir).
  static absl::StatusOr<std::unique_ptr<FollowgateServer>> BuildAndStart(
      ServerOptions options);
  ~FollowgateServer();

  // The bound port.
  int port() const;
  // The state directory in use ("" when state lives in memory only or in
  // the database).
  std::string state_dir() const;
  // Where the state lives, for the startup log: the database (host, port,
  // name; never a password), the state dir, or memory.
  std::string state_description() const;
  // This replica's name in the fleet ("" without a database).
  std::string replica_id() const;
  // Whether invitations are served.
  bool invitations_enabled() const;

  // Refuses new calls, lets open streams run for drain_grace, then ends them
  // and waits for their upstream work to stop. Idempotent.
  void Shutdown();

  // Reads the callers file again (on SIGHUP); keeps the old callers and
  // returns why when the file is wrong.
  absl::Status ReloadCallers();
  bool authenticates_callers() const;
  // The metrics port; -1 when metrics are not served.
  int metrics_port() const;

 private:
  struct Parts;
  explicit FollowgateServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_SERVER_H_
