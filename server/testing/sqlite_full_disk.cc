#include "server/testing/sqlite_full_disk.h"

#include <sqlite3.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace followgate {
namespace {

struct Connections {
  absl::Mutex mu;
  // The newest connection to each file.
  std::map<std::string, sqlite3*> by_file ABSL_GUARDED_BY(mu);
};

Connections& Registry() {
  static Connections* const connections = new Connections;  // Never destroyed.
  return *connections;
}

int Remember(sqlite3* db, char** /*error*/, const sqlite3_api_routines* /*api*/) {
  const char* file = sqlite3_db_filename(db, "main");
  if (file != nullptr && *file != '\0') {
    Connections& registry = Registry();
    absl::MutexLock lock(&registry.mu);
    registry.by_file[file] = db;
  }
  return SQLITE_OK;
}

absl::Status SetMaxPages(const std::string& file, const char* pages) {
  sqlite3* db;
  {
    Connections& registry = Registry();
    absl::MutexLock lock(&registry.mu);
    auto it = registry.by_file.find(file);
    if (it == registry.by_file.end()) {
      return absl::NotFoundError(absl::StrCat("no SQLite connection to ", file));
    }
    db = it->second;
  }
  // Below the current size, SQLite takes the current size.
  const std::string sql = absl::StrCat("PRAGMA max_page_count=", pages);
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return absl::InternalError(sqlite3_errmsg(db));
  }
  return absl::OkStatus();
}

}  // namespace

void SqliteFullDisk::Install() {
  sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(&Remember));
}

absl::Status SqliteFullDisk::Fill(const std::string& file) { return SetMaxPages(file, "1"); }

absl::Status SqliteFullDisk::Free(const std::string& file) {
  return SetMaxPages(file, "4294967294");
}

}  // namespace followgate
