// A throwaway PostgreSQL 15 cluster for one test (or one test binary), on a
// free loopback port, that can be stopped and started again to simulate a
// database restart.
#ifndef FOLLOWGATE_SERVER_TESTING_POSTGRES_SERVER_H_
#define FOLLOWGATE_SERVER_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate {
namespace testing {

// Create() makes a directory, runs initdb there, and starts the server with
// fsync off (Stop() still loses no commit), listening on 127.0.0.1 and on a
// Unix socket in that directory. As root, initdb, postgres and pg_ctl run as
// the `postgres` user (through `runuser -u postgres --`: PostgreSQL refuses
// to run as root), so a Bazel test needs tags = ["no-sandbox"] (the sandbox
// maps no other user). The directory is under TEST_TMPDIR when the server
// can use it, else under /tmp: the `postgres` user cannot enter root's Bazel
// output base, and a Unix socket path must fit in 107 bytes.
//
// Authentication: the superuser `postgres` is trusted; every other role
// logs in with its password (scram-sha-256), so a test can create one with
// CREATE ROLE ... LOGIN PASSWORD '...' over url() and connect with UrlFor.
//
// The server runs as this process's child (not daemonized by pg_ctl start)
// and is sent SIGTERM when the thread that started it ends: a crashed test
// leaves no server running (only its directory, when that is under /tmp).
// So call Create() and Start() on a thread that outlives the server (the
// main thread, or a test suite's setup). The destructor stops it at once
// (pg_ctl stop -m immediate) and removes the directory. Thread-compatible.
class PostgresServer {
 public:
  // Retries on a fresh port when another process took the one chosen.
  // Errors carry the tail of initdb's or the server's log.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Create();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/postgres (the superuser, trusted).
  const std::string& url() const { return url_; }
  // postgresql://USER@127.0.0.1:PORT/postgres (the password is not in it).
  std::string UrlFor(absl::string_view user) const;
  int port() const { return port_; }
  bool running() const { return child_ > 0; }

  // Stops the server at once, as a crash would (pg_ctl stop -m immediate):
  // open connections break. FAILED_PRECONDITION when it is not running.
  absl::Status Stop();
  // Starts it again, on the same port and with the same data. FAILED_PRECONDITION
  // when it is running.
  absl::Status Start();

 private:
  explicit PostgresServer(std::string dir);
  // Starts postgres on port_ and waits until it accepts connections.
  absl::Status Launch();
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/server.log"; }

  std::string dir_;
  int port_ = 0;
  std::string url_;
  pid_t child_ = -1;
};

}  // namespace testing
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_TESTING_POSTGRES_SERVER_H_
