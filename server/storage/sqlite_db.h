// A thin, status-returning layer over SQLite's C API.
#ifndef FOLLOWGATE_SERVER_STORAGE_SQLITE_DB_H_
#define FOLLOWGATE_SERVER_STORAGE_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace followgate {

class SqliteStatement;

// One connection to a database file, opened in WAL mode with synchronous
// commits (a committed transaction survives a crash of the process and of
// the machine). Not thread-safe: callers serialise access (SQLite's own
// locking would make a second connection wait, not fail, for up to the busy
// timeout). Errors carry SQLite's message: RESOURCE_EXHAUSTED with reason
// STORAGE_FULL (naming the file) when there is no room left (SQLITE_FULL, or
// an I/O error from ENOSPC or EDQUOT), UNAVAILABLE when the file cannot be
// opened, INTERNAL otherwise.
class SqliteDb {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results.
  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it fails.
  template <typename Body>
  absl::Status InTransaction(Body body) {
    if (absl::Status begun = Exec("BEGIN IMMEDIATE"); !begun.ok()) return begun;
    absl::Status status = body();
    if (!status.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return status;
    }
    return Exec("COMMIT");
  }

  int64_t LastInsertRowId() const;
  int Changes() const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// A prepared statement. Bind parameters are numbered from 1, columns from 0.
// Move-only.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, absl::string_view value);
  SqliteStatement& BindNull(int index);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);

  // Advances: true while a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows.
  absl::Status Run();
  // Clears bindings and rewinds for reuse.
  void Reset();

  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  absl::Status bind_error_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_SQLITE_DB_H_
