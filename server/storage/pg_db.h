// A thin, status-returning layer over libpq, PostgreSQL's C client: the
// shared state of a fleet of replicas.
#ifndef FOLLOWGATE_SERVER_STORAGE_PG_DB_H_
#define FOLLOWGATE_SERVER_STORAGE_PG_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/base/cancellation.h"

struct pg_conn;
struct pg_result;

namespace followgate {

// How long a caller should wait before retrying after UNAVAILABLE (the
// RetryInfo every such error carries): a restarting server is back within
// seconds, and a fleet retrying faster would only add load to it.
inline constexpr absl::Duration kPgUnavailableRetryDelay = absl::Seconds(1);

// One query parameter, sent as text (PostgreSQL infers its type from where
// it is used), or NULL, or bytes for a bytea.
class PgParam {
 public:
  PgParam(std::nullopt_t) {}  // NULL.
  PgParam(absl::string_view text) : value_(std::string(text)) {}
  PgParam(const char* text) : value_(std::string(text)) {}
  PgParam(const std::string& text) : value_(text) {}
  PgParam(int value) : value_(std::to_string(value)) {}
  PgParam(int64_t value) : value_(std::to_string(value)) {}
  PgParam(bool value) : value_(value ? "true" : "false") {}
  // A bytea value, any bytes (sent in binary, so NULs are fine).
  static PgParam Bytes(absl::string_view bytes) {
    PgParam param{std::string(bytes)};
    param.bytes_ = true;
    return param;
  }

  const std::optional<std::string>& value() const { return value_; }
  bool is_bytes() const { return bytes_; }

 private:
  std::optional<std::string> value_;
  bool bytes_ = false;
};

// One row of a result: a value per column, std::nullopt for NULL. Values are
// PostgreSQL's text output ("t"/"f" for booleans, decimal integers), except
// bytea columns, which hold their bytes. Columns are numbered from 0; one
// past the end reads as NULL.
class PgRow {
 public:
  explicit PgRow(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  bool IsNull(size_t column) const { return !Get(column).has_value(); }
  const std::optional<std::string>& Get(size_t column) const;
  // "" for NULL.
  std::string Text(size_t column) const { return Get(column).value_or(""); }
  // 0 for NULL or a value that is not a 64-bit integer (a column the query
  // declares as an integer always is one).
  int64_t Int(size_t column) const;
  // True only for "t" (a boolean column's true).
  bool Bool(size_t column) const { return Get(column) == "t"; }

 private:
  std::vector<std::optional<std::string>> values_;
};

struct PgResult {
  std::vector<PgRow> rows;
  // Rows inserted, updated, deleted (or returned by a SELECT).
  int64_t affected_rows = 0;
};

// A LISTEN/NOTIFY notification.
struct PgNotification {
  std::string channel;
  std::string payload;
};

enum class PgIsolation { kReadCommitted, kRepeatableRead, kSerializable };

// One connection to a PostgreSQL server. Thread-compatible: callers
// serialise access, as for SqliteDb; only the CancellationToken given to
// WaitForNotification may be cancelled from another thread.
//
// Errors (the one table is in pg_db.cc):
// - UNAVAILABLE, reason DATABASE_UNAVAILABLE, with a RetryInfo of
//   kPgUnavailableRetryDelay: the server cannot be reached, refused the
//   connection (including a wrong password: libpq does not tell it apart),
//   is starting up or shutting down, or the connection was lost;
// - ABORTED, reason DATABASE_CONFLICT: a serialization failure or deadlock
//   (SQLSTATE 40001, 40P01) rolled the transaction back; run it again;
// - ALREADY_EXISTS: a unique constraint was violated (23505), named in
//   the message;
// - RESOURCE_EXHAUSTED, reason STORAGE_FULL: the server's disk is full (53100);
// - FAILED_PRECONDITION: the server asks for a password and none was given;
//   misuse (a transaction inside a transaction, unlocking a lock not held);
// - INVALID_ARGUMENT: a URL libpq cannot parse;
// - INTERNAL, with the SQLSTATE, for anything else (e.g. an SQL error).
// Messages name the server as host:port, database and user, never the URL,
// and pass through Redact(): the password (given or in the URL) is
// registered as a secret and never appears.
//
// Reconnection happens on next use. Every call first reads what the server
// sent while the connection was idle: a connection the server closed then
// (a restart, an idle timeout) is replaced before the statement is sent,
// and the call succeeds if the server is back (UNAVAILABLE if it is still
// away). A connection lost after the statement was sent may have run it:
// that call fails with UNAVAILABLE, and the next reconnects first. What lived in the
// session is gone with it: session advisory locks are not taken again (a
// holder learns of the loss through that UNAVAILABLE, or sees
// `connection_generation()` change); the channels it listened to are
// listened to again, but notifications sent in between are lost (a waiter
// re-reads the state it waits for after UNAVAILABLE). Inside InTransaction a
// lost connection is never replaced: every statement fails until the body
// returns, so nothing after the loss runs outside the transaction.
class PgDb {
 public:
  // Connects to `url`, a libpq connection URI or string
  // (postgresql://user@host:port/db?sslmode=...). A non-empty `password`
  // overrides the URL's; otherwise libpq looks one up as usual (the URL,
  // PGPASSWORD, PGPASSFILE or ~/.pgpass). Unless the URL says otherwise,
  // connecting gives up after 10 s, and a server that stops answering (idle
  // or in the middle of a query) is taken for lost after about a minute.
  static absl::StatusOr<std::unique_ptr<PgDb>> Connect(absl::string_view url,
                                                       absl::string_view password = "");
  ~PgDb();
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  // Runs one or more statements (separated by ';') without parameters,
  // ignoring any rows.
  absl::Status Exec(absl::string_view sql);
  // Runs one statement with parameters $1, $2, ...
  absl::StatusOr<PgResult> Query(absl::string_view sql, absl::Span<const PgParam> params = {});
  // As Query, but the server sends the result in binary format: a bytea's
  // bytes as they are (neither hex-encoded by the server nor decoded here:
  // the way to read large bytea values), a text value's characters, and
  // any other type in PostgreSQL's binary send format, so a query reading
  // numbers casts them to text (`seq::text`) to read them with PgRow::Int.
  absl::StatusOr<PgResult> QueryBinary(absl::string_view sql,
                                       absl::Span<const PgParam> params = {});

  // Runs `body` inside BEGIN ... COMMIT at `isolation`; rolls back if it
  // fails. ABORTED from a statement or from COMMIT means "run it all
  // again". A body that ignores a failed statement gets INTERNAL at COMMIT
  // (PostgreSQL then rolls back). When the connection is lost at COMMIT the
  // transaction may or may not have been committed: UNAVAILABLE says so.
  template <typename Body>
  absl::Status InTransaction(Body body, PgIsolation isolation = PgIsolation::kReadCommitted) {
    if (absl::Status begun = Begin(isolation); !begun.ok()) return begun;
    absl::Status status = body();
    if (!status.ok()) {
      Rollback();
      return status;
    }
    return Commit();
  }

  // LISTEN / UNLISTEN `channel` (any name: it is quoted).
  absl::Status Listen(absl::string_view channel);
  absl::Status Unlisten(absl::string_view channel);
  // pg_notify(channel, payload): delivered when the transaction commits
  // (at once outside one), to every session listening, this one included.
  absl::Status Notify(absl::string_view channel, absl::string_view payload);
  // The next notification for a channel this connection listens to, oldest
  // first; std::nullopt when `deadline` (on the real clock: the kernel's
  // poll waits) passes first; CANCELLED as soon as `cancel` fires;
  // UNAVAILABLE when the connection is lost meanwhile.
  absl::StatusOr<std::optional<PgNotification>> WaitForNotification(
      absl::Time deadline, const CancellationToken& cancel);
  absl::StatusOr<std::optional<PgNotification>> WaitForNotification(absl::Time deadline);

  // Session advisory lock (pg_try_advisory_lock): whether it was taken. Held
  // until AdvisoryUnlock or the end of the session (see reconnection above);
  // taken twice, it must be released twice.
  absl::StatusOr<bool> TryAdvisoryLock(int64_t key);
  // FAILED_PRECONDITION when this session does not hold it.
  absl::Status AdvisoryUnlock(int64_t key);
  // Transaction advisory lock (pg_try_advisory_xact_lock), released at
  // COMMIT or ROLLBACK; FAILED_PRECONDITION outside InTransaction.
  absl::StatusOr<bool> TryAdvisoryXactLock(int64_t key);

  // The server as messages name it: "host:port, database D, user U" (never
  // a password).
  const std::string& target() const { return target_; }

  // Starts at 1; grows by one at every reconnection. Session state (advisory
  // locks, temporary tables) belongs to one generation.
  int64_t connection_generation() const { return generation_; }

 private:
  struct ResultDeleter {
    void operator()(pg_result* result) const;
  };
  using ResultPtr = std::unique_ptr<pg_result, ResultDeleter>;

  PgDb(pg_conn* conn, std::string target) : conn_(conn), target_(std::move(target)) {}

  // OK when the connection is up, reconnecting first if it broke (and not
  // inside InTransaction). Reads first what the server sent since the last
  // call, so a connection it closed meanwhile is found broken before a
  // statement is sent on it.
  absl::Status EnsureConnected();
  // Reads and parses, without waiting, whatever arrived on the connection
  // since the last call: notifications, notices, the server's last words
  // and the end of the stream (then PQstatus is CONNECTION_BAD).
  void ReadWhatArrivedWhileIdle();
  // Sends `sql`, with parameters unless `simple` (then several statements
  // may be given), and checks the outcome. `binary_result`: the result in
  // binary format (not with `simple`).
  absl::StatusOr<ResultPtr> Run(absl::string_view sql, absl::Span<const PgParam> params,
                                bool simple, bool binary_result = false);
  absl::Status Begin(PgIsolation isolation);
  absl::Status Commit();
  void Rollback();

  pg_conn* conn_;
  // "PostgreSQL at host:port, database D, user U", for messages.
  std::string target_;
  std::set<std::string> listening_;
  bool in_transaction_ = false;
  int64_t generation_ = 1;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_PG_DB_H_
