#include "server/storage/sqlite_db.h"

#include <sqlite3.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"

namespace followgate {
namespace {

// Whether SQLite's answer means that the disk (or the quota, or the
// database's page limit) has no room left: SQLITE_FULL, or an I/O error whose
// system error is ENOSPC or EDQUOT (e.g. from fsync or ftruncate).
bool IsStorageFull(sqlite3* db, int rc) {
  if ((rc & 0xff) == SQLITE_FULL) return true;
  if ((rc & 0xff) != SQLITE_IOERR || db == nullptr) return false;
  const int system_errno = sqlite3_system_errno(db);
  return system_errno == ENOSPC || system_errno == EDQUOT;
}

// RESOURCE_EXHAUSTED, reason STORAGE_FULL, naming the database file.
absl::Status StorageFullError(sqlite3* db, absl::string_view message) {
  const char* name = db == nullptr ? nullptr : sqlite3_db_filename(db, "main");
  const std::string file = name == nullptr || *name == '\0' ? "(in memory)" : name;
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat(
          "no room left to store data in ", file, " (SQLite: ", message,
          "): free disk space there; what is already stored is still served")),
      "STORAGE_FULL", {{"file", file}});
}

// The one place where SQLite's result codes become statuses.
absl::Status Error(sqlite3* db, int rc, absl::string_view what, absl::string_view message) {
  if (IsStorageFull(db, rc)) return StorageFullError(db, message);
  return absl::InternalError(absl::StrCat("SQLite ", what, ": ", message));
}

absl::Status Error(sqlite3* db, absl::string_view what) {
  if (db == nullptr) return absl::InternalError(absl::StrCat("SQLite ", what, ": out of memory"));
  return Error(db, sqlite3_extended_errcode(db), what, sqlite3_errmsg(db));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "cannot open database ", path, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteDb> result(new SqliteDb(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);
  if (absl::Status s = result->Exec(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !s.ok()) {
    return s;
  }
  return result;
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

absl::Status SqliteDb::Exec(absl::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return absl::OkStatus();
  absl::Status status = Error(db_, sqlite3_extended_errcode(db_), "exec failed",
                              message ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return status;
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return Error(db_, absl::StrCat("prepare failed for \"", sql.substr(0, 60), "\""));
  }
  return SqliteStatement(db_, stmt);
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int SqliteDb::Changes() const { return sqlite3_changes(db_); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)),
      bind_error_(std::move(other.bind_error_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = Error(db_, "bind failed");
  }
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, absl::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK &&
      bind_error_.ok()) {
    bind_error_ = Error(db_, "bind failed");
  }
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view bytes) {
  if (sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT) !=
          SQLITE_OK &&
      bind_error_.ok()) {
    bind_error_ = Error(db_, "bind failed");
  }
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = Error(db_, "bind failed");
  }
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db_, rc, "step failed", sqlite3_errmsg(db_));
}

absl::Status SqliteStatement::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = absl::OkStatus();
}

int64_t SqliteStatement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       sqlite3_column_bytes(stmt_, column));
}

std::string SqliteStatement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  return data == nullptr ? std::string()
                         : std::string(static_cast<const char*>(data),
                                       sqlite3_column_bytes(stmt_, column));
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace followgate
