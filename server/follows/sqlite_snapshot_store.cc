#include "server/follows/sqlite_snapshot_store.h"

#include "absl/strings/str_cat.h"
#include "server/base/status_macros.h"
#include "server/follows/snapshot_retention.h"

namespace followgate {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshots(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  query_key TEXT NOT NULL,
  complete INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  completed_at INTEGER,
  next_cursor TEXT NOT NULL DEFAULT '',
  page_count INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS snapshots_query ON snapshots(query_key, complete, id);
CREATE TABLE IF NOT EXISTS snapshot_pages(
  snapshot_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  page BLOB NOT NULL,
  PRIMARY KEY(snapshot_id, seq));
CREATE TABLE IF NOT EXISTS snapshot_cursors(
  snapshot_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  cursor TEXT NOT NULL,
  PRIMARY KEY(snapshot_id, seq));
)sql";

constexpr char kColumns[] =
    "id, query_key, complete, started_at, completed_at, next_cursor, page_count, bytes";

SnapshotInfo InfoFrom(const SqliteStatement& row) {
  SnapshotInfo info;
  info.id = row.Int(0);
  info.query_key = row.Text(1);
  info.complete = row.Int(2) != 0;
  info.started_at = absl::FromUnixMicros(row.Int(3));
  if (!row.IsNull(4)) info.completed_at = absl::FromUnixMicros(row.Int(4));
  info.next_cursor = row.Text(5);
  info.page_count = row.Int(6);
  info.bytes = row.Int(7);
  return info;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteSnapshotStore>> SqliteSnapshotStore::Open(
    const std::string& path, Clock* clock) {
  FG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                      SqliteDb::Open(path.empty() ? ":memory:" : path));
  FG_RETURN_IF_ERROR(db->Exec(kSchema));
  return std::unique_ptr<SqliteSnapshotStore>(new SqliteSnapshotStore(std::move(db), clock));
}

absl::StatusOr<std::optional<SnapshotInfo>> SqliteSnapshotStore::QueryOne(const std::string& sql,
                                                                          const std::string& key,
                                                                          int64_t id) {
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(sql));
  if (key.empty()) {
    stmt.Bind(1, id);
  } else {
    stmt.Bind(1, key);
  }
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(InfoFrom(stmt));
}

absl::StatusOr<std::optional<SnapshotInfo>> SqliteSnapshotStore::Get(int64_t id) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns, " FROM snapshots WHERE id=?1"), "", id);
}

absl::StatusOr<std::optional<SnapshotInfo>> SqliteSnapshotStore::LatestComplete(
    const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns,
                               " FROM snapshots WHERE query_key=?1 AND complete=1 "
                               "ORDER BY id DESC LIMIT 1"),
                  query_key, 0);
}

absl::StatusOr<std::optional<SnapshotInfo>> SqliteSnapshotStore::LatestInProgress(
    const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns,
                               " FROM snapshots WHERE query_key=?1 AND complete=0 "
                               "ORDER BY id DESC LIMIT 1"),
                  query_key, 0);
}

absl::StatusOr<std::vector<SnapshotInfo>> SqliteSnapshotStore::NewestComplete(
    const std::string& query_key, int count) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                                " FROM snapshots WHERE query_key=?1 AND "
                                                "complete=1 ORDER BY id DESC LIMIT ?2")));
  stmt.Bind(1, query_key).Bind(2, int64_t{count});
  std::vector<SnapshotInfo> out;
  for (;;) {
    FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(InfoFrom(stmt));
  }
}

absl::StatusOr<std::optional<SnapshotInfo>> SqliteSnapshotStore::NewestCompleteAtOrBefore(
    const std::string& query_key, absl::Time time) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                                " FROM snapshots WHERE query_key=?1 AND "
                                                "complete=1 AND completed_at<=?2 "
                                                "ORDER BY id DESC LIMIT 1")));
  stmt.Bind(1, query_key).Bind(2, absl::ToUnixMicros(time));
  FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(InfoFrom(stmt));
}

absl::StatusOr<std::vector<SnapshotInfo>> SqliteSnapshotStore::List(const std::string& query_key,
                                                                    int64_t before_id,
                                                                    int limit) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt,
                      db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                                " FROM snapshots WHERE query_key=?1 AND "
                                                "(?2=0 OR id<?2) ORDER BY id DESC LIMIT ?3")));
  stmt.Bind(1, query_key).Bind(2, before_id).Bind(3, int64_t{limit});
  std::vector<SnapshotInfo> out;
  for (;;) {
    FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(InfoFrom(stmt));
  }
}

absl::StatusOr<SnapshotInfo> SqliteSnapshotStore::Create(const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT INTO snapshots(query_key, complete, "
                                              "started_at) VALUES (?1, 0, ?2)"));
  FG_RETURN_IF_ERROR(stmt.Bind(1, query_key).Bind(2, absl::ToUnixMicros(now)).Run());
  SnapshotInfo info;
  info.id = db_->LastInsertRowId();
  info.query_key = query_key;
  info.started_at = absl::FromUnixMicros(absl::ToUnixMicros(now));
  return info;
}

absl::Status SqliteSnapshotStore::AppendPage(int64_t id, int64_t seq, const std::string& page,
                                             const std::string& next_cursor) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  return db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto insert, db_->Prepare("INSERT INTO snapshot_pages VALUES "
                                                  "(?1, ?2, ?3)"));
    FG_RETURN_IF_ERROR(insert.Bind(1, id).Bind(2, seq).BindBlob(3, page).Run());
    if (!next_cursor.empty()) {
      FG_ASSIGN_OR_RETURN(auto cursor, db_->Prepare("INSERT INTO snapshot_cursors VALUES "
                                                    "(?1, ?2, ?3)"));
      FG_RETURN_IF_ERROR(cursor.Bind(1, id).Bind(2, seq).Bind(3, next_cursor).Run());
    }
    FG_ASSIGN_OR_RETURN(
        auto update,
        db_->Prepare("UPDATE snapshots SET next_cursor=?1, page_count=page_count+1, "
                     "bytes=bytes+?2, complete=?3, completed_at=?4 WHERE id=?5 AND "
                     "page_count=?6 AND complete=0"));
    update.Bind(1, next_cursor)
        .Bind(2, static_cast<int64_t>(page.size()))
        .Bind(3, int64_t{next_cursor.empty() ? 1 : 0});
    if (next_cursor.empty()) {
      update.Bind(4, absl::ToUnixMicros(now));
    } else {
      update.BindNull(4);
    }
    FG_RETURN_IF_ERROR(update.Bind(5, id).Bind(6, seq).Run());
    if (db_->Changes() != 1) {
      return absl::InternalError(
          absl::StrCat("snapshot ", id, " is not waiting for page ", seq));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> SqliteSnapshotStore::ReadPage(int64_t id, int64_t seq) {
  absl::MutexLock lock(&mu_);
  if (!read_page_.has_value()) {
    FG_ASSIGN_OR_RETURN(read_page_, db_->Prepare("SELECT page FROM snapshot_pages WHERE "
                                                 "snapshot_id=?1 AND seq=?2"));
  }
  SqliteStatement& stmt = *read_page_;
  stmt.Bind(1, id).Bind(2, seq);
  absl::StatusOr<bool> row = stmt.Step();
  std::optional<std::string> page;
  if (row.ok() && *row) page = stmt.Blob(0);
  stmt.Reset();  // Ends the read at once: no statement stays open between calls.
  if (!row.ok()) return row.status();
  return page;
}

absl::StatusOr<std::vector<std::string>> SqliteSnapshotStore::Cursors(int64_t id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT cursor FROM snapshot_cursors WHERE "
                                              "snapshot_id=?1 ORDER BY seq"));
  stmt.Bind(1, id);
  std::vector<std::string> out;
  for (;;) {
    FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(stmt.Text(0));
  }
}

absl::Status SqliteSnapshotStore::DeleteLocked(int64_t id) {
  FG_ASSIGN_OR_RETURN(auto cursors, db_->Prepare("DELETE FROM snapshot_cursors WHERE "
                                                 "snapshot_id=?1"));
  FG_RETURN_IF_ERROR(cursors.Bind(1, id).Run());
  FG_ASSIGN_OR_RETURN(auto pages, db_->Prepare("DELETE FROM snapshot_pages WHERE "
                                               "snapshot_id=?1"));
  FG_RETURN_IF_ERROR(pages.Bind(1, id).Run());
  FG_ASSIGN_OR_RETURN(auto snapshot, db_->Prepare("DELETE FROM snapshots WHERE id=?1"));
  return snapshot.Bind(1, id).Run();
}

absl::StatusOr<int> SqliteSnapshotStore::Prune(const RetentionLimits& limits,
                                           const std::set<int64_t>& in_use) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  int deleted = 0;
  absl::Status status = db_->InTransaction([&]() -> absl::Status {
    FG_ASSIGN_OR_RETURN(auto candidates,
                        db_->Prepare("SELECT id, query_key, started_at, completed_at, bytes "
                                     "FROM snapshots WHERE complete = 1"));
    std::vector<RetentionCandidate> all;
    for (;;) {
      FG_ASSIGN_OR_RETURN(bool row, candidates.Step());
      if (!row) break;
      RetentionCandidate c;
      c.id = candidates.Int(0);
      c.query_key = candidates.Text(1);
      c.started_at = absl::FromUnixMicros(candidates.Int(2));
      c.completed_at = absl::FromUnixMicros(candidates.Int(3));
      c.bytes = candidates.Int(4);
      c.held = in_use.count(c.id) != 0;
      all.push_back(std::move(c));
    }
    FG_ASSIGN_OR_RETURN(auto total_stmt, db_->Prepare("SELECT COALESCE(SUM(bytes), 0) FROM "
                                                      "snapshots"));
    FG_ASSIGN_OR_RETURN(bool has_total, total_stmt.Step());
    const int64_t total = has_total ? total_stmt.Int(0) : 0;
    for (int64_t id : SnapshotsToPrune(std::move(all), total, now, limits)) {
      FG_RETURN_IF_ERROR(DeleteLocked(id));
      ++deleted;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return deleted;
}

}  // namespace followgate
