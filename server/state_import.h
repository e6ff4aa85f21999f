// Moving from one process to a fleet: copies a state dir (--state_dir: its
// invitation ledger, snapshots and resume-token key) into the PostgreSQL
// database a fleet of replicas shares, so nobody is invited twice after the
// move and resume tokens handed out before it keep working.
#ifndef FOLLOWGATE_SERVER_STATE_IMPORT_H_
#define FOLLOWGATE_SERVER_STATE_IMPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/base/clock.h"
#include "server/storage/pg_fleet_secrets.h"

namespace followgate {

// The owner recorded for the chunks the import copies (none is in flight).
inline constexpr char kImportChunkOwner[] = "followgate_import";

struct StateImportOptions {
  // The state dir of the one process; it must exist and no server may hold
  // it (its lock is taken for the import).
  std::string state_dir;
  // A libpq connection URL, and a password that overrides the URL's ("" lets
  // libpq find one: the URL, PGPASSWORD, PGPASSFILE or ~/.pgpass).
  std::string database_url;
  std::string database_password;
};

// What was copied.
struct StateImportCounts {
  int64_t batches = 0;
  int64_t profiles = 0;     // Batch profiles, with their outcomes.
  int64_t chunks = 0;       // Upstream requests recorded.
  int64_t invitations = 0;  // Per-company (company, profile) records.
  int64_t snapshots = 0;
  int64_t pages = 0;
  bool resume_token_key = false;  // Whether the state dir had one.
};

// Copies the state dir into the database in ONE transaction: all of it or,
// on any error, nothing. First it opens the fleet's stores
// (PgInvitationLedger, PgSnapshotStore) so their migrations are applied,
// then, inside the transaction (holding EXCLUSIVE locks on the tables it
// fills, so no replica writes meanwhile), checks the database holds no
// state, and copies:
//  - the ledger: batches, their profiles with outcomes, chunks (keeping their
//    ids; the id sequence moves past them), per-company invitation records
//    and the ledger id. Whatever was in flight when the process stopped is
//    copied as UNKNOWN with kStoppedInFlightReason, as reopening the ledger
//    would record it; the state dir itself is not changed;
//  - the snapshots with their pages and cursors, keeping their ids, and the
//    identity sequence moved past every id the state dir ever gave (pruned
//    ones too), so a new snapshot never reuses one;
//  - `<state_dir>/resume_token.key` into fleet_secrets under
//    kResumeTokenKeySecret (the table is created if missing).
// A state dir without invitations.db or snapshots.db has nothing of that
// kind to copy. `clock` (not owned) stamps the chunks recovered from flight.
//
// Errors: INVALID_ARGUMENT naming the field (state_dir, database_url) for an
// empty one or a state dir that is not a directory; FAILED_PRECONDITION,
// reason STATE_DIR_LOCKED, while a server holds the state dir;
// FAILED_PRECONDITION, reason DATABASE_NOT_EMPTY, saying what the database
// already holds (batches, invitation records, snapshots, a resume-token key),
// with nothing written; FAILED_PRECONDITION for a resume-token key that is
// not one; PgDb's and SqliteDb's errors otherwise (UNAVAILABLE while the
// database cannot be reached). Messages never hold the password or the key.
absl::StatusOr<StateImportCounts> ImportStateDir(const StateImportOptions& options, Clock* clock);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STATE_IMPORT_H_
