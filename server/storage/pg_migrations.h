// Versioned schema migrations for the components that keep their state in
// PostgreSQL, applied at startup by every replica.
#ifndef FOLLOWGATE_SERVER_STORAGE_PG_MIGRATIONS_H_
#define FOLLOWGATE_SERVER_STORAGE_PG_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/storage/pg_db.h"

namespace followgate {

// One step of a component's schema: `sql` (one or more statements separated
// by ';') takes the schema from version - 1 to `version`. A released
// migration never changes; a new schema is a new version on top.
struct Migration {
  int version;
  std::string sql;
};

// Brings `component`'s schema up to the highest version in `migrations`,
// which must be positive and strictly increasing (INVALID_ARGUMENT
// otherwise, as for an empty list or component).
//
// What has been applied is recorded in
// schema_migrations(component, version, applied_at), one row per version.
// Every migration above the highest recorded version runs, in order, in one
// READ COMMITTED transaction with its rows: they all commit or none does
// (the error of the failing statement is returned, with the version in its
// message). That transaction first takes a transaction advisory lock on the
// component, so replicas starting at once take turns: the first applies, the
// others then find nothing left to do. Running it again is a no-op. The
// schema_migrations table is created beforehand, in a transaction of its own
// under a lock shared by all components (CREATE TABLE IF NOT EXISTS is not
// safe against itself in two sessions).
//
// A database whose recorded version is above the highest in `migrations`
// was migrated by a newer release, which this binary cannot read:
// FAILED_PRECONDITION, reason SCHEMA_TOO_NEW (metadata component,
// database_version, known_version), and nothing is changed.
//
// Other errors are PgDb's (UNAVAILABLE, ABORTED, INTERNAL, ...); the whole
// call may be run again after any of them. Logs one "schema_migrated" line
// when it applied something. `db` is not owned and must not be inside a
// transaction; calls on one PgDb are serialised by the caller, as for PgDb.
absl::Status ApplyMigrations(PgDb& db, absl::string_view component,
                             const std::vector<Migration>& migrations);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_PG_MIGRATIONS_H_
