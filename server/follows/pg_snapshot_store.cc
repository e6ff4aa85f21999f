#include "server/follows/pg_snapshot_store.h"

#include "absl/strings/str_cat.h"
#include "server/base/status_macros.h"
#include "server/follows/snapshot_retention.h"
#include "server/storage/pg_migrations.h"

namespace followgate {
namespace {

// Version 1 keeps IF NOT EXISTS: databases made before schema_migrations
// already hold these tables, and only gain the record.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshots(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  query_key text NOT NULL,
  complete boolean NOT NULL DEFAULT false,
  started_at timestamptz NOT NULL,
  completed_at timestamptz,
  next_cursor text NOT NULL DEFAULT '',
  page_count bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS snapshots_query ON snapshots(query_key, complete, id);
CREATE TABLE IF NOT EXISTS snapshot_pages(
  snapshot_id bigint NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  page bytea NOT NULL,
  PRIMARY KEY(snapshot_id, seq));
CREATE TABLE IF NOT EXISTS snapshot_cursors(
  snapshot_id bigint NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  cursor text NOT NULL,
  PRIMARY KEY(snapshot_id, seq));
)sql";

// Version 2: the fleet's crawl leases and readers' pins
// (pg_crawl_registry.h). outcome_code is set (an absl::StatusCode) when the
// last crawl ended with a failure the followers report.
constexpr char kSchemaV2[] = R"sql(
CREATE TABLE crawl_leases(
  snapshot_id bigint PRIMARY KEY REFERENCES snapshots(id) ON DELETE CASCADE,
  owner text NOT NULL,
  lease_until timestamptz NOT NULL,
  outcome_code integer,
  outcome_message text);
CREATE TABLE snapshot_pins(
  snapshot_id bigint NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  owner text NOT NULL,
  alive_until timestamptz NOT NULL,
  PRIMARY KEY(snapshot_id, owner));
)sql";

// Version 3: pages stored from now on are not compressed (see
// MigrateSnapshotSchema).
constexpr char kSchemaV3[] = R"sql(
ALTER TABLE snapshot_pages ALTER COLUMN page SET STORAGE EXTERNAL;
)sql";

// Version 4: the highest priority of the callers waiting for a crawl, on
// any replica (PgCrawlRegistry::CallerWaits); NULL while none does.
constexpr char kSchemaV4[] = R"sql(
ALTER TABLE crawl_leases ADD COLUMN caller_priority integer;
)sql";

// Times travel as microseconds since the epoch: numeric extract() (exact
// since PostgreSQL 14) reads them, and a UTC timestamp literal writes them.
constexpr char kColumns[] =
    "id, query_key, complete, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM completed_at) * 1000000)::bigint, next_cursor, page_count, bytes";

std::string TimestampParam(int64_t unix_micros) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromUnixMicros(unix_micros),
                          absl::UTCTimeZone());
}

SnapshotInfo InfoFrom(const PgRow& row) {
  SnapshotInfo info;
  info.id = row.Int(0);
  info.query_key = row.Text(1);
  info.complete = row.Bool(2);
  info.started_at = absl::FromUnixMicros(row.Int(3));
  if (!row.IsNull(4)) info.completed_at = absl::FromUnixMicros(row.Int(4));
  info.next_cursor = row.Text(5);
  info.page_count = row.Int(6);
  info.bytes = row.Int(7);
  return info;
}

}  // namespace

absl::Status MigrateSnapshotSchema(PgDb& db) {
  return ApplyMigrations(db, kPgSnapshotSchemaComponent,
                         {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}, {4, kSchemaV4}});
}

absl::StatusOr<std::unique_ptr<PgSnapshotStore>> PgSnapshotStore::Open(std::unique_ptr<PgDb> db,
                                                                       Clock* clock) {
  if (db == nullptr) return absl::InvalidArgumentError("PgSnapshotStore needs a connection");
  FG_RETURN_IF_ERROR(MigrateSnapshotSchema(*db));
  return std::unique_ptr<PgSnapshotStore>(new PgSnapshotStore(std::move(db), clock));
}

absl::StatusOr<std::vector<SnapshotInfo>> PgSnapshotStore::QueryInfos(
    const std::string& sql, absl::Span<const PgParam> params) {
  FG_ASSIGN_OR_RETURN(PgResult result, db_->Query(sql, params));
  std::vector<SnapshotInfo> out;
  out.reserve(result.rows.size());
  for (const PgRow& row : result.rows) out.push_back(InfoFrom(row));
  return out;
}

absl::StatusOr<std::optional<SnapshotInfo>> PgSnapshotStore::QueryOne(
    const std::string& sql, absl::Span<const PgParam> params) {
  FG_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> infos, QueryInfos(sql, params));
  if (infos.empty()) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(std::move(infos.front()));
}

absl::StatusOr<std::optional<SnapshotInfo>> PgSnapshotStore::Get(int64_t id) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns, " FROM snapshots WHERE id = $1"), {id});
}

absl::StatusOr<std::optional<SnapshotInfo>> PgSnapshotStore::LatestComplete(
    const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns,
                               " FROM snapshots WHERE query_key = $1 AND complete "
                               "ORDER BY id DESC LIMIT 1"),
                  {query_key});
}

absl::StatusOr<std::optional<SnapshotInfo>> PgSnapshotStore::LatestInProgress(
    const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns,
                               " FROM snapshots WHERE query_key = $1 AND NOT complete "
                               "ORDER BY id DESC LIMIT 1"),
                  {query_key});
}

absl::StatusOr<std::vector<SnapshotInfo>> PgSnapshotStore::NewestComplete(
    const std::string& query_key, int count) {
  absl::MutexLock lock(&mu_);
  return QueryInfos(absl::StrCat("SELECT ", kColumns,
                                 " FROM snapshots WHERE query_key = $1 AND complete "
                                 "ORDER BY id DESC LIMIT $2"),
                    {query_key, count});
}

absl::StatusOr<std::optional<SnapshotInfo>> PgSnapshotStore::NewestCompleteAtOrBefore(
    const std::string& query_key, absl::Time time) {
  absl::MutexLock lock(&mu_);
  return QueryOne(absl::StrCat("SELECT ", kColumns,
                               " FROM snapshots WHERE query_key = $1 AND complete AND "
                               "completed_at <= $2::timestamptz ORDER BY id DESC LIMIT 1"),
                  {query_key, TimestampParam(absl::ToUnixMicros(time))});
}

absl::StatusOr<std::vector<SnapshotInfo>> PgSnapshotStore::List(const std::string& query_key,
                                                                int64_t before_id, int limit) {
  absl::MutexLock lock(&mu_);
  return QueryInfos(absl::StrCat("SELECT ", kColumns,
                                 " FROM snapshots WHERE query_key = $1 AND ($2::bigint = 0 OR "
                                 "id < $2::bigint) ORDER BY id DESC LIMIT $3"),
                    {query_key, before_id, limit});
}

absl::StatusOr<SnapshotInfo> PgSnapshotStore::Create(const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  return CreateLocked(query_key);
}

absl::StatusOr<SnapshotInfo> PgSnapshotStore::CreateUnlessInProgress(
    const std::string& query_key) {
  absl::MutexLock lock(&mu_);
  SnapshotInfo info;
  FG_RETURN_IF_ERROR(db_->InTransaction([&]() -> absl::Status {
    // Held to COMMIT: a second replica reads after the first one's row is
    // committed, and finds it.
    FG_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))",
                                  {static_cast<int64_t>(kPgSnapshotCreateLockClass), query_key})
                           .status());
    FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> found,
                        QueryOne(absl::StrCat("SELECT ", kColumns,
                                              " FROM snapshots WHERE query_key = $1 AND NOT "
                                              "complete ORDER BY id DESC LIMIT 1"),
                                 {query_key}));
    if (found.has_value()) {
      info = *std::move(found);
      return absl::OkStatus();
    }
    FG_ASSIGN_OR_RETURN(info, CreateLocked(query_key));
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<SnapshotInfo> PgSnapshotStore::CreateLocked(const std::string& query_key) {
  const int64_t started_at = absl::ToUnixMicros(clock_->Now());
  FG_ASSIGN_OR_RETURN(
      PgResult result,
      db_->Query("INSERT INTO snapshots(query_key, started_at) VALUES ($1, $2::timestamptz) "
                 "RETURNING id",
                 {query_key, TimestampParam(started_at)}));
  if (result.rows.size() != 1) {
    return absl::InternalError("INSERT INTO snapshots returned no id");
  }
  SnapshotInfo info;
  info.id = result.rows[0].Int(0);
  info.query_key = query_key;
  info.started_at = absl::FromUnixMicros(started_at);
  return info;
}

absl::Status PgSnapshotStore::AppendPage(int64_t id, int64_t seq, const std::string& page,
                                         const std::string& next_cursor) {
  absl::MutexLock lock(&mu_);
  const bool completes = next_cursor.empty();
  const PgParam completed_at = completes
                                   ? PgParam(TimestampParam(absl::ToUnixMicros(clock_->Now())))
                                   : PgParam(std::nullopt);
  return db_->InTransaction([&]() -> absl::Status {
    // The row first: it matches only when the snapshot waits for this page,
    // and stays locked until COMMIT, so no other writer can store it too.
    FG_ASSIGN_OR_RETURN(
        PgResult update,
        db_->Query(
            "UPDATE snapshots SET next_cursor = $1, page_count = page_count + 1, "
            "bytes = bytes + $2, complete = $3, completed_at = $4::timestamptz "
            "WHERE id = $5 AND page_count = $6 AND NOT complete",
            {next_cursor, static_cast<int64_t>(page.size()), completes, completed_at, id, seq}));
    if (update.affected_rows != 1) {
      return absl::InternalError(absl::StrCat("snapshot ", id, " is not waiting for page ", seq));
    }
    FG_RETURN_IF_ERROR(db_->Query("INSERT INTO snapshot_pages VALUES ($1, $2, $3)",
                                  {id, seq, PgParam::Bytes(page)})
                           .status());
    if (!completes) {
      FG_RETURN_IF_ERROR(
          db_->Query("INSERT INTO snapshot_cursors VALUES ($1, $2, $3)", {id, seq, next_cursor})
              .status());
    }
    // Sent at COMMIT: followers on every replica read the page then.
    return db_->Notify(kPgSnapshotPagesChannel, absl::StrCat(id));
  });
}

absl::StatusOr<std::optional<std::string>> PgSnapshotStore::ReadPage(int64_t id, int64_t seq) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(
      PgResult result,
      db_->QueryBinary("SELECT page FROM snapshot_pages WHERE snapshot_id = $1 AND seq = $2",
                       {id, seq}));
  if (result.rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(result.rows[0].Text(0));
}

SnapshotStore::ReadAhead PgSnapshotStore::read_ahead() const {
  ReadAhead read_ahead;
  read_ahead.max_pages = kPgReadAheadPages;
  read_ahead.max_bytes = kPgReadAheadBytes;
  return read_ahead;
}

absl::StatusOr<std::vector<std::string>> PgSnapshotStore::ReadPages(int64_t id, int64_t first_seq,
                                                                    int64_t max_pages,
                                                                    int64_t max_bytes) {
  std::vector<std::string> pages;
  if (max_pages <= 0) return pages;
  absl::MutexLock lock(&mu_);
  // octet_length() of a bytea reads its stored size without fetching it, so
  // the pages past the byte limit are never read. The first page always
  // comes. (ORDER BY names the bigint: a bare `seq` would be the text.)
  FG_ASSIGN_OR_RETURN(
      PgResult result,
      db_->QueryBinary(
          "SELECT seq::text, page FROM (SELECT seq, page, sum(octet_length(page)) OVER "
          "(ORDER BY seq) - octet_length(page) AS before FROM snapshot_pages "
          "WHERE snapshot_id = $1 AND seq >= $2 AND seq < $2::bigint + $3::bigint) AS ahead "
          "WHERE seq = $2 OR before + octet_length(page) <= $4 ORDER BY ahead.seq",
          {id, first_seq, max_pages, max_bytes}));
  pages.reserve(result.rows.size());
  for (const PgRow& row : result.rows) {
    // Pages are stored in order, so the rows are first_seq, first_seq + 1,
    // ...; a gap would be a page lost, which the reader is told of by the
    // short batch, not given the page after it.
    if (row.Int(0) != first_seq + static_cast<int64_t>(pages.size())) break;
    pages.push_back(row.Text(1));
  }
  return pages;
}

absl::StatusOr<std::vector<std::string>> PgSnapshotStore::Cursors(int64_t id) {
  absl::MutexLock lock(&mu_);
  FG_ASSIGN_OR_RETURN(
      PgResult result,
      db_->Query("SELECT cursor FROM snapshot_cursors WHERE snapshot_id = $1 ORDER BY seq", {id}));
  std::vector<std::string> out;
  out.reserve(result.rows.size());
  for (const PgRow& row : result.rows) out.push_back(row.Text(0));
  return out;
}

absl::StatusOr<int> PgSnapshotStore::Prune(const RetentionLimits& limits,
                                           const std::set<int64_t>& in_use) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  int deleted = 0;
  FG_RETURN_IF_ERROR(db_->InTransaction([&]() -> absl::Status {
    deleted = 0;
    FG_RETURN_IF_ERROR(
        db_->Query("SELECT pg_advisory_xact_lock($1)", {kPgSnapshotPruneLockKey}).status());
    FG_ASSIGN_OR_RETURN(
        PgResult candidates,
        db_->Query("SELECT s.id, s.query_key, "
                   "(extract(epoch FROM s.started_at) * 1000000)::bigint, "
                   "(extract(epoch FROM s.completed_at) * 1000000)::bigint, s.bytes, "
                   // Held by the fleet: a live replica's reader or crawl.
                   "EXISTS (SELECT 1 FROM snapshot_pins p WHERE p.snapshot_id = s.id "
                   "AND p.alive_until > clock_timestamp()) "
                   "OR EXISTS (SELECT 1 FROM crawl_leases l WHERE l.snapshot_id = s.id "
                   "AND l.lease_until > clock_timestamp()) FROM snapshots s WHERE s.complete"));
    std::vector<RetentionCandidate> all;
    all.reserve(candidates.rows.size());
    for (const PgRow& row : candidates.rows) {
      RetentionCandidate c;
      c.id = row.Int(0);
      c.query_key = row.Text(1);
      c.started_at = absl::FromUnixMicros(row.Int(2));
      c.completed_at = absl::FromUnixMicros(row.Int(3));
      c.bytes = row.Int(4);
      c.held = row.Bool(5) || in_use.count(c.id) != 0;
      all.push_back(std::move(c));
    }
    FG_ASSIGN_OR_RETURN(PgResult total_result,
                        db_->Query("SELECT COALESCE(sum(bytes), 0)::bigint FROM snapshots"));
    const int64_t total = total_result.rows.empty() ? 0 : total_result.rows[0].Int(0);
    for (int64_t id : SnapshotsToPrune(std::move(all), total, now, limits)) {
      FG_ASSIGN_OR_RETURN(PgResult gone, db_->Query("DELETE FROM snapshots WHERE id = $1", {id}));
      deleted += static_cast<int>(gone.affected_rows);
    }
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace followgate
