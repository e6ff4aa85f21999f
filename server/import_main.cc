// followgate_import: copies one process's --state_dir (invitation ledger,
// snapshots, resume-token key) into the PostgreSQL database of a fleet, in
// one transaction, refusing a database that already holds state. Prints the
// counts copied and exits 0; prints why and exits 1 otherwise (a bad flag
// included). The password is never printed.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/base/clock.h"
#include "server/base/log.h"
#include "server/base/secrets.h"
#include "server/state_import.h"

ABSL_FLAG(std::string, state_dir, "",
          "The state dir to import; no server may be running on it.");
ABSL_FLAG(std::string, database_url, "",
          "The fleet's PostgreSQL database (postgresql://user@host:port/db).");
ABSL_FLAG(std::string, database_password_file, "",
          "File holding the database password (default: the URL, PGPASSWORD, PGPASSFILE "
          "or ~/.pgpass, as libpq looks them up).");

namespace followgate {
namespace {

constexpr int kExitFailed = 1;

int Fail(const absl::Status& status) {
  LogError(absl::StrCat("followgate_import: nothing was imported: ", status.ToString()));
  return kExitFailed;
}

int Run() {
  StateImportOptions options;
  options.state_dir = absl::GetFlag(FLAGS_state_dir);
  options.database_url = absl::GetFlag(FLAGS_database_url);
  if (const std::string file = absl::GetFlag(FLAGS_database_password_file); !file.empty()) {
    absl::StatusOr<std::string> password = ReadSecret(file, "PGPASSWORD");
    if (!password.ok()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--database_password_file: ", password.status().message())));
    }
    options.database_password = *std::move(password);
  }
  absl::StatusOr<StateImportCounts> counts = ImportStateDir(options, Clock::Real());
  if (!counts.ok()) return Fail(counts.status());
  std::printf(
      "imported %s into PostgreSQL: %lld batches, %lld profiles, %lld chunks, %lld invitations, "
      "%lld snapshots, %lld pages, %s\n",
      options.state_dir.c_str(), static_cast<long long>(counts->batches),
      static_cast<long long>(counts->profiles), static_cast<long long>(counts->chunks),
      static_cast<long long>(counts->invitations), static_cast<long long>(counts->snapshots),
      static_cast<long long>(counts->pages),
      counts->resume_token_key ? "the resume token key" : "no resume token key (none was made)");
  return 0;
}

}  // namespace
}  // namespace followgate

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Copies a followgate state dir into a fleet's PostgreSQL database. Example: "
      "followgate_import --state_dir=/var/lib/followgate "
      "--database_url=postgresql://followgate@db:5432/followgate "
      "--database_password_file=/run/secrets/pg");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/import_main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  // Unknown flags and bad values end the process here with exit code 1.
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    followgate::LogError(absl::StrCat("followgate_import: unexpected argument \"", positional[1],
                                      "\"; every option is a --flag (see --help)"));
    return followgate::kExitFailed;
  }
  return followgate::Run();
}
