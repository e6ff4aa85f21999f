#include "server/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace followgate {
namespace testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kRunuser[] = "/usr/sbin/runuser";
constexpr absl::Duration kStartTimeout = absl::Seconds(60);
constexpr int kPortAttempts = 5;
// A Unix socket path holds at most 107 bytes; the server adds
// "/.s.PGSQL.NNNNN.lock" to the directory.
constexpr size_t kMaxDirLength = 80;

constexpr char kPgHba[] =
    "# Written by server/testing/postgres_server.cc.\n"
    "local all postgres trust\n"
    "host  all postgres 127.0.0.1/32 trust\n"
    "local all all scram-sha-256\n"
    "host  all all 127.0.0.1/32 scram-sha-256\n";

bool IsRoot() { return geteuid() == 0; }

std::string Tail(const std::string& path, size_t from = 0) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  if (from < text.size())
    text = text.substr(from);
  else if (from > 0)
    text.clear();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return text;
}

size_t FileSize(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 ? static_cast<size_t>(info.st_size) : 0;
}

// The directory under which the cluster's own goes (see the header).
std::string BaseDir() {
  const char* test_tmpdir = std::getenv("TEST_TMPDIR");
  if (test_tmpdir != nullptr && !IsRoot() && std::strlen(test_tmpdir) <= kMaxDirLength - 20) {
    return test_tmpdir;
  }
  return "/tmp";
}

absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("cannot find a free port: ", error));
  }
  close(fd);
  return ntohs(address.sin_port);
}

// argv as the server's user: through runuser when this process is root.
std::vector<std::string> AsServerUser(bool root, std::vector<std::string> argv) {
  if (!root) return argv;
  std::vector<std::string> wrapped = {kRunuser, "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// Forks and execs `argv` in `dir` with stdout and stderr appended to `log`.
// With `tie_to_thread`, the child is sent SIGTERM when the calling thread
// ends (runuser passes it on to the server).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& dir,
                            const std::string& log, bool tie_to_thread) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    if (tie_to_thread && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)) {
      _exit(127);
    }
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
        chdir(dir.c_str()) != 0) {
      _exit(127);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Runs `argv` to completion; INTERNAL with the log's new lines unless it
// exits 0.
absl::Status Run(const std::vector<std::string>& argv, const std::string& dir,
                 const std::string& log) {
  const size_t log_start = FileSize(log);
  absl::StatusOr<pid_t> pid = Spawn(argv, dir, log, /*tie_to_thread=*/false);
  if (!pid.ok()) return pid.status();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (wait status ", status,
                                          "):\n", Tail(log, log_start)));
}

// Whether the server's postmaster.pid says it accepts connections (how
// pg_ctl -w tells).
bool Ready(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  std::string line;
  for (int i = 0; i < 8 && std::getline(in, line); ++i) {
    if (i == 7) return absl::StripAsciiWhitespace(line) == "ready";
  }
  return false;
}

}  // namespace

PostgresServer::PostgresServer(std::string dir) : dir_(std::move(dir)) {}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Create() {
  if (access((std::string(kBinDir) + "/initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBinDir, "/initdb is missing: install postgresql-15 (scripts/install_deps.sh)"));
  }
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (IsRoot()) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no user `postgres` to run PostgreSQL as "
          "(install postgresql-15)");
    }
    uid = user->pw_uid;
    gid = user->pw_gid;
  }
  std::string pattern = BaseDir() + "/followgate-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(pattern));
  if (IsRoot() && chown(server->dir_.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", server->dir_, ": ", std::strerror(errno)));
  }

  const std::string initdb_log = server->dir_ + "/initdb.log";
  if (absl::Status done =
          Run(AsServerUser(IsRoot(), {std::string(kBinDir) + "/initdb", "-D", server->data_dir(),
                                      "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                                      "--locale=C", "--no-instructions"}),
              server->dir_, initdb_log);
      !done.ok()) {
    return done;
  }
  const std::string hba = server->data_dir() + "/pg_hba.conf";
  {
    std::ofstream out(hba, std::ios::trunc);
    out << kPgHba;
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", hba));
  }
  if (IsRoot() && chown(hba.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", hba, ": ", std::strerror(errno)));
  }

  absl::Status started;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    server->port_ = *port;
    const size_t log_start = FileSize(server->log_path());
    started = server->Launch();
    if (started.ok() ||
        !absl::StrContains(Tail(server->log_path(), log_start), "Address already in use")) {
      break;
    }
  }
  if (!started.ok()) return started;
  server->url_ = server->UrlFor("postgres");
  return server;
}

PostgresServer::~PostgresServer() {
  if (running()) Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresServer::UrlFor(absl::string_view user) const {
  return absl::StrCat("postgresql://", user, "@127.0.0.1:", port_, "/postgres");
}

// fsync and full-page writes only guard against a crash of the machine;
// synchronous_commit stays on, so that a stopped server keeps every commit.
absl::Status PostgresServer::Launch() {
  // A lock file left by a server that did not get to remove it would make
  // the new one refuse to start (none of ours runs: child_ is unset).
  unlink((data_dir() + "/postmaster.pid").c_str());
  const size_t log_start = FileSize(log_path());
  absl::StatusOr<pid_t> pid = Spawn(
      AsServerUser(IsRoot(), {std::string(kBinDir) + "/postgres", "-D", data_dir(), "-p",
                              std::to_string(port_), "-k", dir_, "-c", "listen_addresses=127.0.0.1",
                              "-c", "fsync=off", "-c", "full_page_writes=off"}),
      dir_, log_path(), /*tie_to_thread=*/true);
  if (!pid.ok()) return pid.status();
  const absl::Time give_up = absl::Now() + kStartTimeout;
  while (!Ready(data_dir())) {
    int status = 0;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      return absl::InternalError(absl::StrCat("postgres exited (wait status ", status,
                                              ") before accepting connections:\n",
                                              Tail(log_path(), log_start)));
    }
    if (absl::Now() > give_up) {
      kill(*pid, SIGTERM);
      waitpid(*pid, &status, 0);
      return absl::DeadlineExceededError(absl::StrCat("postgres did not accept connections within ",
                                                      absl::FormatDuration(kStartTimeout), ":\n",
                                                      Tail(log_path(), log_start)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  child_ = *pid;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (!running()) return absl::FailedPreconditionError("the PostgreSQL server is not running");
  absl::Status stopped = Run(AsServerUser(IsRoot(), {std::string(kBinDir) + "/pg_ctl", "-D",
                                                     data_dir(), "-m", "immediate", "-w", "stop"}),
                             dir_, log_path());
  if (!stopped.ok()) kill(child_, SIGTERM);
  int status = 0;
  while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
  child_ = -1;
  return stopped;
}

absl::Status PostgresServer::Start() {
  if (running()) return absl::FailedPreconditionError("the PostgreSQL server is running");
  return Launch();
}

}  // namespace testing
}  // namespace followgate
