#include "server/state_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/base/error_details.h"
#include "server/base/status_macros.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/follows/resume_token.h"
#include "server/grpc/state_dir.h"
#include "server/invitations/invitation_ledger.h"
#include "server/invitations/pg_invitation_ledger.h"
#include "server/storage/pg_db.h"
#include "server/storage/sqlite_db.h"

namespace followgate {
namespace {

// The ledger's value for a profile or record in flight (both backends).
constexpr int kInFlight = 100;

// Rows per INSERT statement, and the bytes after which one is sent early
// (snapshot pages are large).
constexpr int kRowsPerInsert = 200;
constexpr size_t kBytesPerInsert = 8 << 20;

// The tables the import fills, locked against every other writer until it
// commits.
constexpr char kLockTables[] =
    "LOCK TABLE invitation_batches, invitation_batch_profiles, invitation_chunks, invitations, "
    "invitation_ledger_identity, snapshots, snapshot_pages, snapshot_cursors, fleet_secrets "
    "IN EXCLUSIVE MODE";

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// Timestamps as PostgreSQL reads them exactly, to the microsecond (the form
// PgSnapshotStore writes).
std::string TimestampParam(int64_t unix_micros) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromUnixMicros(unix_micros),
                          absl::UTCTimeZone());
}

PgParam IntOrNull(const SqliteStatement& row, int column) {
  if (row.IsNull(column)) return PgParam(std::nullopt);
  return PgParam(row.Int(column));
}

// Collects rows for one table and inserts them, many per statement.
class RowInserter {
 public:
  // `head` is "INSERT INTO table(c1, ..., cN) [OVERRIDING SYSTEM VALUE]".
  RowInserter(PgDb& db, std::string head, int columns)
      : db_(db), head_(std::move(head)), columns_(columns) {}

  absl::Status Add(std::vector<PgParam> row) {
    for (PgParam& param : row) {
      if (param.value().has_value()) bytes_ += param.value()->size();
      params_.push_back(std::move(param));
    }
    ++pending_;
    ++rows_;
    if (pending_ >= kRowsPerInsert || bytes_ >= kBytesPerInsert) return Flush();
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (pending_ == 0) return absl::OkStatus();
    std::vector<std::string> tuples;
    int next = 1;
    for (int r = 0; r < pending_; ++r) {
      std::vector<std::string> placeholders;
      for (int c = 0; c < columns_; ++c) placeholders.push_back(absl::StrCat("$", next++));
      tuples.push_back(absl::StrCat("(", absl::StrJoin(placeholders, ", "), ")"));
    }
    const absl::Status status =
        db_.Query(absl::StrCat(head_, " VALUES ", absl::StrJoin(tuples, ", ")), params_).status();
    params_.clear();
    pending_ = 0;
    bytes_ = 0;
    return status;
  }

  int64_t rows() const { return rows_; }

 private:
  PgDb& db_;
  const std::string head_;
  const int columns_;
  std::vector<PgParam> params_;
  int pending_ = 0;
  size_t bytes_ = 0;
  int64_t rows_ = 0;
};

// Runs `sql` on `source` and hands every row to `row_to_params`, whose
// result `into` inserts; how many rows.
template <typename RowToParams>
absl::StatusOr<int64_t> CopyRows(SqliteDb& source, absl::string_view sql, RowInserter& into,
                                 RowToParams row_to_params) {
  FG_ASSIGN_OR_RETURN(SqliteStatement stmt, source.Prepare(sql));
  for (;;) {
    FG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    FG_RETURN_IF_ERROR(into.Add(row_to_params(stmt)));
  }
  FG_RETURN_IF_ERROR(into.Flush());
  return into.rows();
}

absl::StatusOr<bool> HasTable(SqliteDb& db, absl::string_view table) {
  FG_ASSIGN_OR_RETURN(SqliteStatement stmt,
                      db.Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1"));
  stmt.Bind(1, table);
  return stmt.Step();
}

// The greatest id an AUTOINCREMENT table ever gave, rows deleted since
// included: the larger of its greatest row and sqlite_sequence's record.
absl::StatusOr<int64_t> GreatestIdEverGiven(SqliteDb& db, absl::string_view table,
                                            absl::string_view id_column) {
  int64_t greatest = 0;
  FG_ASSIGN_OR_RETURN(SqliteStatement max_row,
                      db.Prepare(absl::StrCat("SELECT COALESCE(MAX(", id_column, "), 0) FROM ",
                                              table)));
  FG_ASSIGN_OR_RETURN(bool has_max, max_row.Step());
  if (has_max) greatest = max_row.Int(0);
  FG_ASSIGN_OR_RETURN(bool has_sequence, HasTable(db, "sqlite_sequence"));
  if (has_sequence) {
    FG_ASSIGN_OR_RETURN(SqliteStatement seq,
                        db.Prepare("SELECT seq FROM sqlite_sequence WHERE name=?1"));
    seq.Bind(1, table);
    FG_ASSIGN_OR_RETURN(bool found, seq.Step());
    if (found) greatest = std::max(greatest, seq.Int(0));
  }
  return greatest;
}

// Moves the sequence behind `table`.`column` so that its next value is
// above `greatest` (never back: a fleet database may have given more ids
// before, to rows since deleted). setval is not undone by a rollback; a
// sequence moved by a failed import only skips ids.
absl::Status AdvanceSequencePast(PgDb& db, const std::string& table, const std::string& column,
                                 int64_t greatest) {
  if (greatest <= 0) return absl::OkStatus();
  return db
      .Query("SELECT setval(s, GREATEST($3::bigint, COALESCE(pg_sequence_last_value(s::regclass), "
             "0))) FROM pg_get_serial_sequence($1, $2) AS s",
             {table, column, greatest})
      .status();
}

// The 32 bytes of `<state_dir>/resume_token.key`; nullopt when there is
// none. The key never appears in a message.
absl::StatusOr<std::optional<std::string>> ReadResumeTokenKey(const std::string& state_dir) {
  const std::string path = state_dir + "/resume_token.key";
  if (!Exists(path)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the resume token key ", path));
  }
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the resume token key ", path));
  }
  if (key.size() != ResumeTokenCodec::kKeyBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the resume token key ", path, " holds ", key.size(), " bytes instead of ",
        ResumeTokenCodec::kKeyBytes, "; it is not one the server made"));
  }
  return std::optional<std::string>(std::move(key));
}

std::string Plural(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// FAILED_PRECONDITION (reason DATABASE_NOT_EMPTY) when the database already
// holds a batch, an invitation record, a snapshot or a resume-token key.
absl::Status CheckDatabaseHoldsNoState(PgDb& db) {
  FG_ASSIGN_OR_RETURN(
      PgResult held,
      db.Query("SELECT (SELECT COUNT(*) FROM invitation_batches), "
               "(SELECT COUNT(*) FROM invitations), (SELECT COUNT(*) FROM snapshots), "
               "(SELECT COUNT(*) FROM fleet_secrets WHERE name = $1)",
               {kResumeTokenKeySecret}));
  if (held.rows.empty()) return absl::InternalError("the database answered no counts");
  const PgRow& row = held.rows[0];
  std::vector<std::string> what;
  if (row.Int(0) > 0) what.push_back(Plural(row.Int(0), "batch", "batches"));
  if (row.Int(1) > 0) what.push_back(Plural(row.Int(1), "invitation record", "invitation records"));
  if (row.Int(2) > 0) what.push_back(Plural(row.Int(2), "snapshot", "snapshots"));
  if (row.Int(3) > 0) what.push_back("a resume token key");
  if (what.empty()) return absl::OkStatus();
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "the database already holds ", absl::StrJoin(what, ", "),
          "; a state dir is imported only into a database without state (nothing was written)")),
      "DATABASE_NOT_EMPTY",
      {{"batches", absl::StrCat(row.Int(0))},
       {"invitations", absl::StrCat(row.Int(1))},
       {"snapshots", absl::StrCat(row.Int(2))},
       {"resume_token_key", row.Int(3) > 0 ? "true" : "false"}});
}

// Copies invitations.db: batches, profiles, chunks, per-company records and
// the ledger id, turning what was in flight UNKNOWN as of `now`.
absl::Status CopyLedger(SqliteDb& source, PgDb& db, absl::Time now, StateImportCounts& counts) {
  FG_ASSIGN_OR_RETURN(bool has_ledger, HasTable(source, "batches"));
  if (!has_ledger) return absl::OkStatus();
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int unknown = static_cast<int>(v1::INVITATION_OUTCOME_UNKNOWN);

  RowInserter batches(db,
                      "INSERT INTO invitation_batches(request_id, company_id, account_id, "
                      "retry_unknown, profile_count, created_at)",
                      6);
  FG_ASSIGN_OR_RETURN(counts.batches,
                      CopyRows(source,
                               "SELECT request_id, company_id, account_id, retry_unknown, "
                               "profile_count, created_at FROM batches",
                               batches, [](const SqliteStatement& r) {
                                 return std::vector<PgParam>{r.Text(0), r.Text(1), r.Text(2),
                                                             r.Int(3) != 0, r.Int(4), r.Int(5)};
                               }));

  RowInserter profiles(db,
                       "INSERT INTO invitation_batch_profiles(request_id, idx, profile_urn, "
                       "outcome, reason, chunk_id, invite_time, invited_by)",
                       8);
  FG_ASSIGN_OR_RETURN(
      counts.profiles,
      CopyRows(source,
               "SELECT request_id, idx, profile_urn, outcome, reason, chunk_id, invite_time, "
               "invited_by FROM batch_profiles",
               profiles, [&](const SqliteStatement& r) {
                 const bool in_flight = r.Int(3) == kInFlight;
                 return std::vector<PgParam>{
                     r.Text(0),
                     r.Int(1),
                     r.Text(2),
                     in_flight ? unknown : static_cast<int>(r.Int(3)),
                     in_flight ? std::string(kStoppedInFlightReason) : r.Text(4),
                     IntOrNull(r, 5),
                     IntOrNull(r, 6),
                     in_flight ? r.Text(0) : r.Text(7)};
               }));

  RowInserter chunks(db,
                     "INSERT INTO invitation_chunks(chunk_id, request_id, state, owner, "
                     "alive_until, started_at, finished_at)",
                     7);
  FG_ASSIGN_OR_RETURN(
      counts.chunks,
      CopyRows(source, "SELECT chunk_id, request_id, state, started_at, finished_at FROM chunks",
               chunks, [&](const SqliteStatement& r) {
                 const bool in_flight = r.Text(2) == "IN_FLIGHT";
                 const int64_t finished = in_flight    ? now_ms
                                          : r.IsNull(4) ? r.Int(3)
                                                        : r.Int(4);
                 return std::vector<PgParam>{
                     r.Int(0),
                     r.Text(1),
                     in_flight ? std::string("UNKNOWN") : r.Text(2),
                     kImportChunkOwner,
                     finished,
                     r.Int(3),
                     in_flight ? PgParam(now_ms) : IntOrNull(r, 4)};
               }));
  FG_ASSIGN_OR_RETURN(int64_t greatest_chunk, GreatestIdEverGiven(source, "chunks", "chunk_id"));
  FG_RETURN_IF_ERROR(AdvanceSequencePast(db, "invitation_chunks", "chunk_id", greatest_chunk));

  RowInserter invitations(db,
                          "INSERT INTO invitations(company_id, profile_urn, state, prior_state, "
                          "reason, request_id, chunk_id, invite_time)",
                          8);
  FG_ASSIGN_OR_RETURN(
      counts.invitations,
      CopyRows(source,
               "SELECT company_id, profile_urn, state, prior_state, reason, request_id, "
               "chunk_id, invite_time FROM invitations",
               invitations, [&](const SqliteStatement& r) {
                 const bool in_flight = r.Int(2) == kInFlight;
                 return std::vector<PgParam>{
                     r.Text(0),
                     r.Text(1),
                     in_flight ? unknown : static_cast<int>(r.Int(2)),
                     in_flight ? PgParam(std::nullopt) : IntOrNull(r, 3),
                     in_flight ? std::string(kStoppedInFlightReason) : r.Text(4),
                     r.Text(5),
                     IntOrNull(r, 6),
                     r.Int(7)};
               }));

  FG_ASSIGN_OR_RETURN(bool has_identity, HasTable(source, "ledger_identity"));
  if (!has_identity) return absl::OkStatus();
  FG_ASSIGN_OR_RETURN(SqliteStatement identity,
                      source.Prepare("SELECT ledger_id FROM ledger_identity"));
  FG_ASSIGN_OR_RETURN(bool has_id, identity.Step());
  if (!has_id) return absl::OkStatus();
  return db
      .Query("INSERT INTO invitation_ledger_identity(singleton, ledger_id) VALUES (1, $1) "
             "ON CONFLICT (singleton) DO NOTHING",
             {identity.Text(0)})
      .status();
}

// Copies snapshots.db: snapshots with their ids, pages and cursors.
absl::Status CopySnapshots(SqliteDb& source, PgDb& db, StateImportCounts& counts) {
  FG_ASSIGN_OR_RETURN(bool has_snapshots, HasTable(source, "snapshots"));
  if (!has_snapshots) return absl::OkStatus();

  RowInserter snapshots(db,
                        "INSERT INTO snapshots(id, query_key, complete, started_at, "
                        "completed_at, next_cursor, page_count, bytes) OVERRIDING SYSTEM VALUE",
                        8);
  FG_ASSIGN_OR_RETURN(
      counts.snapshots,
      CopyRows(source,
               "SELECT id, query_key, complete, started_at, completed_at, next_cursor, "
               "page_count, bytes FROM snapshots",
               snapshots, [](const SqliteStatement& r) {
                 return std::vector<PgParam>{
                     r.Int(0),
                     r.Text(1),
                     r.Int(2) != 0,
                     TimestampParam(r.Int(3)),
                     r.IsNull(4) ? PgParam(std::nullopt) : PgParam(TimestampParam(r.Int(4))),
                     r.Text(5),
                     r.Int(6),
                     r.Int(7)};
               }));
  FG_ASSIGN_OR_RETURN(int64_t greatest, GreatestIdEverGiven(source, "snapshots", "id"));
  FG_RETURN_IF_ERROR(AdvanceSequencePast(db, "snapshots", "id", greatest));

  // Only rows of snapshots that exist: the PostgreSQL tables reference them.
  RowInserter pages(db, "INSERT INTO snapshot_pages(snapshot_id, seq, page)", 3);
  FG_ASSIGN_OR_RETURN(counts.pages,
                      CopyRows(source,
                               "SELECT snapshot_id, seq, page FROM snapshot_pages "
                               "WHERE snapshot_id IN (SELECT id FROM snapshots)",
                               pages, [](const SqliteStatement& r) {
                                 return std::vector<PgParam>{r.Int(0), r.Int(1),
                                                             PgParam::Bytes(r.Blob(2))};
                               }));
  RowInserter cursors(db, "INSERT INTO snapshot_cursors(snapshot_id, seq, cursor)", 3);
  return CopyRows(source,
                  "SELECT snapshot_id, seq, cursor FROM snapshot_cursors "
                  "WHERE snapshot_id IN (SELECT id FROM snapshots)",
                  cursors,
                  [](const SqliteStatement& r) {
                    return std::vector<PgParam>{r.Int(0), r.Int(1), r.Text(2)};
                  })
      .status();
}

// Opens the fleet's stores once, so that their tables exist at the versions
// this release knows before the import writes into them.
absl::Status MigrateFleetStores(const StateImportOptions& options, Clock* clock) {
  PgInvitationLedgerOptions ledger_options;
  ledger_options.url = options.database_url;
  ledger_options.password = options.database_password;
  ledger_options.owner = kImportChunkOwner;
  FG_RETURN_IF_ERROR(PgInvitationLedger::Open(ledger_options, clock).status());
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db,
                      PgDb::Connect(options.database_url, options.database_password));
  return PgSnapshotStore::Open(std::move(db), clock).status();
}

}  // namespace

absl::StatusOr<StateImportCounts> ImportStateDir(const StateImportOptions& options,
                                                 Clock* clock) {
  if (options.state_dir.empty()) {
    return InvalidField("state_dir", "state_dir: the state dir to import is required");
  }
  if (!IsDirectory(options.state_dir)) {
    return InvalidField("state_dir", absl::StrCat("state_dir: ", QuoteForMessage(options.state_dir),
                                                  " is not a directory"));
  }
  if (options.database_url.empty()) {
    return InvalidField("database_url",
                        "database_url: the PostgreSQL database to import into is required");
  }
  // Held until the import ends: no server may start on the state dir meanwhile.
  FG_ASSIGN_OR_RETURN(std::unique_ptr<StateDir> state_dir, StateDir::Open(options.state_dir));
  FG_ASSIGN_OR_RETURN(std::optional<std::string> key, ReadResumeTokenKey(state_dir->path()));

  std::unique_ptr<SqliteDb> ledger;
  if (Exists(state_dir->LedgerFile())) {
    FG_ASSIGN_OR_RETURN(ledger, SqliteDb::Open(state_dir->LedgerFile()));
  }
  std::unique_ptr<SqliteDb> snapshots;
  if (Exists(state_dir->SnapshotsFile())) {
    FG_ASSIGN_OR_RETURN(snapshots, SqliteDb::Open(state_dir->SnapshotsFile()));
  }

  FG_RETURN_IF_ERROR(MigrateFleetStores(options, clock));
  FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db,
                      PgDb::Connect(options.database_url, options.database_password));
  FG_RETURN_IF_ERROR(MigrateFleetSecrets(*db));
  const absl::Time now = clock->Now();
  StateImportCounts counts;
  FG_RETURN_IF_ERROR(db->InTransaction([&]() -> absl::Status {
    FG_RETURN_IF_ERROR(db->Exec(kLockTables));
    FG_RETURN_IF_ERROR(CheckDatabaseHoldsNoState(*db));
    if (ledger != nullptr) FG_RETURN_IF_ERROR(CopyLedger(*ledger, *db, now, counts));
    if (snapshots != nullptr) FG_RETURN_IF_ERROR(CopySnapshots(*snapshots, *db, counts));
    if (key.has_value()) {
      FG_RETURN_IF_ERROR(db->Query("INSERT INTO fleet_secrets(name, value) VALUES ($1, $2)",
                                   {kResumeTokenKeySecret, PgParam::Bytes(*key)})
                             .status());
      counts.resume_token_key = true;
    }
    return absl::OkStatus();
  }));
  return counts;
}

}  // namespace followgate
