#include "server/grpc/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/status_macros.h"
#include "server/base/uuid.h"

namespace followgate {
namespace {

absl::Status SystemError(absl::string_view what, const std::string& file) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", what, " ", file, ": ", std::strerror(errno)));
}

absl::Status MakeDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return SystemError("create state_dir", prefix);
    }
    if (slash == std::string::npos) return absl::OkStatus();
  }
}

bool Exists(const std::string& file) {
  struct stat info;
  return stat(file.c_str(), &info) == 0;
}

// The pid the lock's holder wrote, or "unknown" (it may not have written it
// yet).
std::string HolderPid(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  const std::string pid(absl::StripAsciiWhitespace(n > 0 ? buffer : ""));
  return pid.empty() ? "unknown" : pid;
}

absl::StatusOr<int> TakeLock(const std::string& dir) {
  const std::string file = dir + "/LOCK";
  const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("open", file);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    const std::string pid = HolderPid(fd);
    close(fd);
    if (lock_errno != EWOULDBLOCK) {
      errno = lock_errno;
      return SystemError("lock", file);
    }
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "state_dir ", dir, " is in use by another followgate process (pid ", pid,
            "): one state dir serves one process; stop that one or give this one its own "
            "--state_dir (several replicas need a shared database instead of one state "
            "dir)")),
        "STATE_DIR_LOCKED", {{"state_dir", dir}, {"pid", pid}});
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    absl::Status status = SystemError("write", file);
    close(fd);
    return status;
  }
  return fd;
}

}  // namespace

absl::StatusOr<StateIdentity> ReadStateIdentity(const std::string& file) {
  if (!Exists(file)) return absl::NotFoundError(absl::StrCat(file, " does not exist"));
  std::ifstream in(file);
  if (!in) return SystemError("read", file);
  std::stringstream text;
  text << in.rdbuf();
  StateIdentity identity;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipWhitespace())) {
    if (absl::StartsWith(line, "#")) continue;
    std::pair<absl::string_view, absl::string_view> field = absl::StrSplit(line, '=');
    if (field.first == "state_id") identity.state_id = std::string(field.second);
    if (field.first == "ledger_id") identity.ledger_id = std::string(field.second);
  }
  if (identity.state_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(file, " is not a followgate state identity (it has no state_id)"));
  }
  return identity;
}

absl::Status WriteStateIdentity(const std::string& file, const StateIdentity& identity) {
  const std::string text = absl::StrCat(
      "# followgate state directory identity: do not edit, and do not copy it to "
      "another state directory.\nstate_id=",
      identity.state_id, "\nledger_id=", identity.ledger_id, "\n");
  const std::string tmp = file + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("create", tmp);
  const bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  absl::Status status = written ? absl::OkStatus() : SystemError("write", tmp);
  close(fd);
  if (!status.ok()) return status;
  if (std::rename(tmp.c_str(), file.c_str()) != 0) return SystemError("replace", file);
  // The rename itself survives a crash once the directory is synced.
  const std::string dir = file.substr(0, file.rfind('/'));
  const int dir_fd = open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::Open(const std::string& path) {
  FG_RETURN_IF_ERROR(MakeDirectories(path));
  FG_ASSIGN_OR_RETURN(int fd, TakeLock(path));
  std::unique_ptr<StateDir> dir(new StateDir(path, fd));
  FG_RETURN_IF_ERROR(dir->LoadOrCreateIdentity());
  return dir;
}

StateDir::~StateDir() { close(lock_fd_); }

absl::Status StateDir::LoadOrCreateIdentity() {
  const std::string file = path_ + "/IDENTITY";
  absl::StatusOr<StateIdentity> read = ReadStateIdentity(file);
  if (read.ok()) {
    identity_ = *std::move(read);
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(read.status())) return read.status();
  const bool earlier_release = Exists(SnapshotsFile()) || Exists(LedgerFile());
  StateIdentity identity;
  identity.state_id = NewUuid();
  FG_RETURN_IF_ERROR(WriteStateIdentity(file, identity));
  identity_ = identity;
  LogInfo(earlier_release
              ? absl::StrCat("state_dir ", path_,
                             " was made by an earlier release (no IDENTITY file): adopting "
                             "its snapshots and its invitation ledger as they are (state id ",
                             identity.state_id, ")")
              : absl::StrCat("new state_dir ", path_, " (state id ", identity.state_id, ")"));
  return absl::OkStatus();
}

absl::Status StateDir::RecordLedger(InvitationLedger& ledger,
                                    const std::string& ledger_id_in_file) {
  StateIdentity identity = identity_;
  identity.ledger_id = ledger_id_in_file.empty() ? NewUuid() : ledger_id_in_file;
  if (ledger_id_in_file.empty()) FG_RETURN_IF_ERROR(ledger.SetLedgerId(identity.ledger_id));
  FG_RETURN_IF_ERROR(WriteStateIdentity(path_ + "/IDENTITY", identity));
  identity_ = identity;
  return absl::OkStatus();
}

absl::Status StateDir::BindLedger(InvitationLedger& ledger, bool accept_new_ledger) {
  FG_ASSIGN_OR_RETURN(const std::string in_file, ledger.LedgerId());
  if (identity_.ledger_id.empty()) {
    // The state dir's first ledger: a new state dir, one that served
    // without invitations so far, or one from an earlier release.
    FG_ASSIGN_OR_RETURN(const int64_t batches, ledger.BatchCount());
    FG_RETURN_IF_ERROR(RecordLedger(ledger, in_file));
    LogInfo(absl::StrCat("invitation ledger ", LedgerFile(), " (", batches,
                         " batches) is the ledger of state_dir ", path_, " (ledger id ",
                         identity_.ledger_id, ")"));
    return absl::OkStatus();
  }
  if (in_file == identity_.ledger_id) return absl::OkStatus();
  const std::string what =
      in_file.empty() ? std::string("was deleted or emptied")
                      : absl::StrCat("was replaced by another ledger (ledger id ", in_file, ")");
  const std::string meaning =
      "every invitation sent before would be forgotten, so people may be invited twice";
  if (!accept_new_ledger) {
    return WithErrorInfo(
        absl::FailedPreconditionError(
            absl::StrCat("the invitation ledger ", LedgerFile(), " is not the one state_dir ",
                         path_, " had (ledger id ", identity_.ledger_id, "): it ", what,
                         ". Starting without it, ", meaning,
                         ". Restore it from a backup (invitations.db and its -wal file, with "
                         "the server stopped), or start with --accept_new_ledger to accept that")),
        "LEDGER_NOT_FOUND", {{"state_dir", path_}, {"ledger_id", identity_.ledger_id}});
  }
  const std::string old_id = identity_.ledger_id;
  FG_RETURN_IF_ERROR(RecordLedger(ledger, in_file));
  LogError(absl::StrCat("--accept_new_ledger: the invitation ledger of state_dir ", path_,
                        " (ledger id ", old_id, ") ", what, "; ledger id ", identity_.ledger_id,
                        " takes its place: every invitation sent before it is forgotten, so "
                        "people may be invited twice"));
  return absl::OkStatus();
}

}  // namespace followgate
