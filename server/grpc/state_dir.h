// The state directory (--state_dir): one process's durable state, locked for
// that process's life, with an identity that records which invitation ledger
// belongs to it.
#ifndef FOLLOWGATE_SERVER_GRPC_STATE_DIR_H_
#define FOLLOWGATE_SERVER_GRPC_STATE_DIR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/invitations/invitation_ledger.h"

namespace followgate {

// What `<state_dir>/IDENTITY` holds: the state dir's id, made when the file
// was first written, and the id of its invitation ledger ("" while it has
// none), which is also stored inside invitations.db.
struct StateIdentity {
  std::string state_id;
  std::string ledger_id;
};

// Owns `<state_dir>/LOCK`: an exclusive flock held from Open until
// destruction (the kernel releases it when the process dies), with the
// holder's pid written in it for the message a second process gets. One
// process per state dir: its SQLite files have one writer, its pacer is the
// only one spending LinkedIn's budget, and one request_id never runs in two
// processes at once. Several replicas need a shared database instead.
//
// Thread-compatible. Errors: FAILED_PRECONDITION (reason STATE_DIR_LOCKED)
// when another process, or another server of this process, holds the lock;
// FAILED_PRECONDITION when the directory or its files cannot be made or
// read; FAILED_PRECONDITION (reason LEDGER_NOT_FOUND) from BindLedger.
class StateDir {
 public:
  // Creates `path` (and its parents) if missing, takes its lock, and reads
  // or writes its identity. A directory with state but no IDENTITY (made by
  // a release before identities) is adopted as it is, and that is logged.
  static absl::StatusOr<std::unique_ptr<StateDir>> Open(const std::string& path);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const std::string& path() const { return path_; }
  std::string SnapshotsFile() const { return path_ + "/snapshots.db"; }
  std::string LedgerFile() const { return path_ + "/invitations.db"; }
  const StateIdentity& identity() const { return identity_; }

  // Makes sure `ledger` (opened from LedgerFile()) is the ledger this state
  // dir had. A state dir without a recorded ledger takes this one (giving it
  // an id if it has none). One whose recorded ledger is not this one
  // (deleted, emptied, or replaced by another ledger's file) is refused
  // unless `accept_new_ledger`: every invitation sent before would be
  // forgotten, so people could be invited twice. Accepted, the new ledger
  // becomes the state dir's, and that is logged.
  absl::Status BindLedger(InvitationLedger& ledger, bool accept_new_ledger);

 private:
  StateDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  absl::Status LoadOrCreateIdentity();
  absl::Status RecordLedger(InvitationLedger& ledger, const std::string& ledger_id_in_file);

  const std::string path_;
  const int lock_fd_;
  StateIdentity identity_;
};

// Reads an identity file; NOT_FOUND when it does not exist,
// FAILED_PRECONDITION when it is not one.
absl::StatusOr<StateIdentity> ReadStateIdentity(const std::string& file);
// Replaces an identity file atomically and durably.
absl::Status WriteStateIdentity(const std::string& file, const StateIdentity& identity);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_STATE_DIR_H_
