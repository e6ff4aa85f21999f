// Secrets that every replica of a fleet must hold alike (the resume-token
// key: a token made by one replica must check on every other), kept in the
// shared PostgreSQL database.
#ifndef FOLLOWGATE_SERVER_STORAGE_PG_FLEET_SECRETS_H_
#define FOLLOWGATE_SERVER_STORAGE_PG_FLEET_SECRETS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/base/state_blob.h"
#include "server/storage/pg_db.h"

namespace followgate {

// The component schema_migrations records for table
// fleet_secrets(name text PRIMARY KEY, value bytea NOT NULL).
inline constexpr char kPgFleetSecretsComponent[] = "fleet_secrets";
// The name of the resume-token key (ResumeTokenCodec::kKeyBytes bytes).
inline constexpr char kResumeTokenKeySecret[] = "resume_token_key";

// Creates the table if missing (a migration, safe when replicas start at
// once).
absl::Status MigrateFleetSecrets(PgDb& db);

// The secret `name`: the stored value, or else `make()`'s, stored first. Of
// replicas starting at once the first insert wins (ON CONFLICT DO NOTHING)
// and every one returns the value that was stored, never its own losing
// one. `make`'s error is returned as it is; PgDb's errors otherwise.
absl::StatusOr<std::string> GetOrCreateFleetSecret(
    PgDb& db, absl::string_view name, const std::function<absl::StatusOr<std::string>()>& make);

// The fleet secret `name` as a StateBlob (Save replaces it for every
// replica), over its own connection to `url`; e.g. a credential's refreshed
// tokens. Thread-safe.
std::shared_ptr<StateBlob> FleetSecretBlob(std::string url, std::string password,
                                           std::string name);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_PG_FLEET_SECRETS_H_
