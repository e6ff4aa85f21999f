#include "server/storage/pg_migrations.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/status_macros.h"

namespace followgate {
namespace {

// Transaction advisory locks with two int4 keys: this class, then 0 while
// creating schema_migrations, or hashtext(component) while migrating one
// component. (A component whose hash is 0 would only wait for the table's
// creation as well: each transaction holds one of these locks, never two.)
constexpr int kMigrationLockClass = 71000;

constexpr char kMigrationsTable[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations(
  component text NOT NULL,
  version integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY(component, version));
)sql";

absl::Status CheckMigrations(absl::string_view component,
                             const std::vector<Migration>& migrations) {
  if (component.empty()) return absl::InvalidArgumentError("a migrated component needs a name");
  if (migrations.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", component, " schema has no migrations"));
  }
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", component, " schema's migration versions must be positive and increasing; ",
          migration.version, " comes after ", previous));
    }
    previous = migration.version;
  }
  return absl::OkStatus();
}

absl::Status SchemaTooNew(absl::string_view component, int64_t database_version,
                          int known_version) {
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "the database's ", component, " schema is at version ", database_version,
          ", but this replica knows only up to version ", known_version,
          ": a newer followgate has migrated it; upgrade this replica to that release (or "
          "newer) before starting it against this database")),
      "SCHEMA_TOO_NEW",
      {{"component", std::string(component)},
       {"database_version", absl::StrCat(database_version)},
       {"known_version", absl::StrCat(known_version)}});
}

}  // namespace

absl::Status ApplyMigrations(PgDb& db, absl::string_view component,
                             const std::vector<Migration>& migrations) {
  FG_RETURN_IF_ERROR(CheckMigrations(component, migrations));
  FG_RETURN_IF_ERROR(db.InTransaction([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(
        db.Query("SELECT pg_advisory_xact_lock($1::int4, 0)", {kMigrationLockClass}).status());
    return db.Exec(kMigrationsTable);
  }));

  const int known_version = migrations.back().version;
  int64_t database_version = 0;
  FG_RETURN_IF_ERROR(db.InTransaction([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(db.Query("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
                                {kMigrationLockClass, component})
                           .status());
    FG_ASSIGN_OR_RETURN(
        PgResult recorded,
        db.Query("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = $1",
                 {component}));
    database_version = recorded.rows.at(0).Int(0);
    if (database_version > known_version) {
      return SchemaTooNew(component, database_version, known_version);
    }
    for (const Migration& migration : migrations) {
      if (migration.version <= database_version) continue;
      if (absl::Status applied = db.Exec(migration.sql); !applied.ok()) {
        return RewordStatus(applied,
                            absl::StrCat("migrating the ", component, " schema to version ",
                                         migration.version, ": ", applied.message()));
      }
      FG_RETURN_IF_ERROR(
          db.Query("INSERT INTO schema_migrations(component, version) VALUES ($1, $2)",
                   {component, migration.version})
              .status());
    }
    return absl::OkStatus();
  }));

  if (database_version < known_version) {
    LogEvent("INFO", "schema_migrated",
             {{"component", std::string(component)},
              {"from_version", database_version},
              {"to_version", static_cast<int64_t>(known_version)}});
  }
  return absl::OkStatus();
}

}  // namespace followgate
