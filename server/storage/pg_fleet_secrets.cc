#include "server/storage/pg_fleet_secrets.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

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

namespace {

class FleetSecretBlobImpl final : public StateBlob {
 public:
  FleetSecretBlobImpl(std::string url, std::string password, std::string name)
      : url_(std::move(url)), password_(std::move(password)), name_(std::move(name)) {}

  absl::StatusOr<std::optional<std::string>> Load() override {
    absl::MutexLock lock(&mu_);
    FG_ASSIGN_OR_RETURN(PgDb* db, Db());
    FG_ASSIGN_OR_RETURN(PgResult found,
                        db->Query("SELECT value FROM fleet_secrets WHERE name = $1",
                                  {PgParam(name_)}));
    if (found.rows.empty()) return std::nullopt;
    return found.rows[0].Text(0);
  }

  absl::Status Save(const std::string& text) override {
    absl::MutexLock lock(&mu_);
    FG_ASSIGN_OR_RETURN(PgDb* db, Db());
    return db->Query("INSERT INTO fleet_secrets (name, value) VALUES ($1, $2) "
                     "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                     {PgParam(name_), PgParam::Bytes(text)})
        .status();
  }

  std::string Describe() const override {
    return absl::StrCat("the database's fleet secret ", name_);
  }

 private:
  absl::StatusOr<PgDb*> Db() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (db_ == nullptr) {
      FG_ASSIGN_OR_RETURN(db_, PgDb::Connect(url_, password_));
      FG_RETURN_IF_ERROR(MigrateFleetSecrets(*db_));
    }
    return db_.get();
  }

  const std::string url_;
  const std::string password_;
  const std::string name_;
  absl::Mutex mu_;
  std::unique_ptr<PgDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<StateBlob> FleetSecretBlob(std::string url, std::string password,
                                           std::string name) {
  return std::make_shared<FleetSecretBlobImpl>(std::move(url), std::move(password),
                                               std::move(name));
}

}  // namespace followgate
