#include "server/storage/pg_fleet_secrets.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

#include "server/base/status_macros.h"
#include "server/storage/pg_migrations.h"

namespace followgate {

absl::Status MigrateFleetSecrets(PgDb& db) {
  // IF NOT EXISTS: followgate_import may have made the table before any
  // replica started.
  return ApplyMigrations(
      db, kPgFleetSecretsComponent,
      {{1, "CREATE TABLE IF NOT EXISTS fleet_secrets (name text PRIMARY KEY, value bytea NOT NULL)"}});
}

absl::StatusOr<std::string> GetOrCreateFleetSecret(
    PgDb& db, absl::string_view name, const std::function<absl::StatusOr<std::string>()>& make) {
  const std::string select = "SELECT value FROM fleet_secrets WHERE name = $1";
  FG_ASSIGN_OR_RETURN(PgResult found, db.Query(select, {PgParam(name)}));
  if (!found.rows.empty()) return found.rows[0].Text(0);
  FG_ASSIGN_OR_RETURN(std::string made, make());
  FG_RETURN_IF_ERROR(db.Query("INSERT INTO fleet_secrets (name, value) VALUES ($1, $2) "
                              "ON CONFLICT (name) DO NOTHING",
                              {PgParam(name), PgParam::Bytes(made)})
                         .status());
  FG_ASSIGN_OR_RETURN(PgResult stored, db.Query(select, {PgParam(name)}));
  if (stored.rows.empty()) {
    return absl::InternalError(absl::StrCat("fleet secret ", name, " vanished after its insert"));
  }
  return stored.rows[0].Text(0);
}

}  // namespace followgate
