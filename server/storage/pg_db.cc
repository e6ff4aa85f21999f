#include "server/storage/pg_db.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/base/clock.h"
#include "server/base/error_details.h"
#include "server/base/redaction.h"
#include "server/base/status_macros.h"

namespace followgate {
namespace {

constexpr Oid kByteaOid = 17;

// libpq's messages end with a newline and continue on tab-indented lines.
std::string OneLine(absl::string_view message) {
  std::string line = absl::StrReplaceAll(message, {{"\n\t", " "}, {"\n", " "}});
  return std::string(absl::StripAsciiWhitespace(line));
}

absl::Status Unavailable(absl::string_view message) {
  return WithRetryDelay(
      WithErrorInfo(absl::UnavailableError(Redact(message)), "DATABASE_UNAVAILABLE"),
      kPgUnavailableRetryDelay);
}

// "PostgreSQL at host:port, database D, user U" (never the password).
std::string Describe(const PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  const char* user = PQuser(conn);
  return absl::StrCat("PostgreSQL at ", host ? host : "", ":", port ? port : "", ", database ",
                      db ? db : "", ", user ", user ? user : "");
}

// The one place where PostgreSQL's errors become statuses, by what the
// caller should do: retry later (UNAVAILABLE), run the transaction again
// (ABORTED), or not retry at all.
absl::Status ErrorFor(const PGconn* conn, const PGresult* result, absl::string_view target) {
  if (PQstatus(conn) == CONNECTION_BAD) {
    return Unavailable(
        absl::StrCat("lost the connection to ", target, ": ", OneLine(PQerrorMessage(conn))));
  }
  const char* sqlstate_field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string sqlstate = sqlstate_field ? sqlstate_field : "";
  const std::string message =
      OneLine(primary ? primary : (result ? PQresultErrorMessage(result) : PQerrorMessage(conn)));
  const std::string said =
      absl::StrCat(target, ": ", message, " (SQLSTATE ", sqlstate.empty() ? "none" : sqlstate, ")");
  // Class 08: connection exceptions. 57P01-57P03: the server is shutting
  // down, crashed, or is starting up. 53300: too many connections.
  if (absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03" || sqlstate == "53300") {
    return Unavailable(said);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return WithErrorInfo(
        absl::AbortedError(Redact(absl::StrCat(
            "the transaction conflicted with another and was rolled back; run it again: ", said))),
        "DATABASE_CONFLICT");
  }
  if (sqlstate == "23505") return absl::AlreadyExistsError(Redact(said));
  if (sqlstate == "53100") {
    const char* db = PQdb(conn);
    return WithErrorInfo(
        absl::ResourceExhaustedError(Redact(absl::StrCat(
            "no room left to store data in ", said, ": free disk space on the database server"))),
        "STORAGE_FULL", {{"database", db ? db : ""}});
  }
  return absl::InternalError(Redact(said));
}

// Keeps notices (e.g. "relation already exists, skipping") off stderr,
// where they would bypass the log: errors arrive as statuses instead.
void DropNotice(void*, const char*) {}

// The password in a connection URL or string, if it has one.
std::optional<std::string> PasswordIn(absl::string_view url, std::string* error) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &parse_error);
  if (options == nullptr) {
    *error = parse_error ? OneLine(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return std::nullopt;
  }
  std::optional<std::string> password;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (absl::string_view(option->keyword) == "password" && option->val != nullptr) {
      password = option->val;
    }
  }
  PQconninfoFree(options);
  return password;
}

}  // namespace

const std::optional<std::string>& PgRow::Get(size_t column) const {
  static const std::optional<std::string>* const kNull = new std::optional<std::string>();
  return column < values_.size() ? values_[column] : *kNull;
}

int64_t PgRow::Int(size_t column) const {
  int64_t value = 0;
  if (IsNull(column) || !absl::SimpleAtoi(*Get(column), &value)) return 0;
  return value;
}

void PgDb::ResultDeleter::operator()(PGresult* result) const { PQclear(result); }

absl::StatusOr<std::unique_ptr<PgDb>> PgDb::Connect(absl::string_view url,
                                                    absl::string_view password) {
  std::string parse_error;
  std::optional<std::string> url_password = PasswordIn(url, &parse_error);
  if (!parse_error.empty()) {
    return absl::InvalidArgumentError(
        Redact(absl::StrCat("invalid PostgreSQL connection URL: ", parse_error)));
  }
  if (url_password.has_value()) RegisterSecret(*url_password);
  if (!password.empty()) RegisterSecret(password);

  // Later entries override earlier ones, and the URL is expanded where
  // "dbname" stands: these defaults yield to the URL, the password to none.
  const std::string url_string(url);
  const std::string password_string(password);
  std::vector<std::pair<const char*, const char*>> settings = {
      {"fallback_application_name", "followgate"},
      {"connect_timeout", "10"},
      // A server that stops answering is taken for lost after about a
      // minute, whether the connection is idle or waiting for a result.
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"},
      {"dbname", url_string.c_str()},
  };
  if (!password.empty()) settings.emplace_back("password", password_string.c_str());
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : settings) {
    keywords.push_back(keyword);
    values.push_back(value);
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::InternalError("libpq: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string target = Describe(conn);
    absl::Status status = PQconnectionNeedsPassword(conn)
                              ? absl::FailedPreconditionError(Redact(absl::StrCat(
                                    target,
                                    " asks for a password and none was given (give one, or set "
                                    "PGPASSWORD or a PGPASSFILE)")))
                              : Unavailable(absl::StrCat("cannot connect to ", target, ": ",
                                                         OneLine(PQerrorMessage(conn))));
    PQfinish(conn);
    return status;
  }
  PQsetNoticeProcessor(conn, DropNotice, nullptr);
  return std::unique_ptr<PgDb>(new PgDb(conn, Describe(conn)));
}

PgDb::~PgDb() { PQfinish(conn_); }

void PgDb::ReadWhatArrivedWhileIdle() {
  // Bounded: a server cannot keep an idle connection busy for ever.
  for (int round = 0; round < 64 && PQstatus(conn_) == CONNECTION_OK; ++round) {
    pollfd fd = {PQsocket(conn_), POLLIN, 0};
    if (poll(&fd, 1, /*timeout=*/0) <= 0 || fd.revents == 0) return;
    // Reads what is there; at the end of the stream the connection turns
    // CONNECTION_BAD. One read takes the server's last message (e.g. 57P01,
    // "terminating connection") but not the close behind it: hence the loop.
    if (!PQconsumeInput(conn_)) return;
    // Parses it: an error while idle goes to the (dropping) notice
    // processor, notifications wait in libpq's queue for PQnotifies.
    PQisBusy(conn_);
  }
}

absl::Status PgDb::EnsureConnected() {
  ReadWhatArrivedWhileIdle();
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  if (in_transaction_) {
    return Unavailable(absl::StrCat("lost the connection to ", target_,
                                    " inside a transaction, which was rolled back"));
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(
        absl::StrCat("cannot reconnect to ", target_, ": ", OneLine(PQerrorMessage(conn_))));
  }
  PQsetNoticeProcessor(conn_, DropNotice, nullptr);
  ++generation_;
  for (const std::string& channel : listening_) {
    char* quoted = PQescapeIdentifier(conn_, channel.data(), channel.size());
    if (quoted == nullptr) return ErrorFor(conn_, nullptr, target_);
    const std::string sql = absl::StrCat("LISTEN ", quoted);
    PQfreemem(quoted);
    ResultPtr result(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return ErrorFor(conn_, result.get(), target_);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PgDb::ResultPtr> PgDb::Run(absl::string_view sql, absl::Span<const PgParam> params,
                                          bool simple, bool binary_result) {
  const std::string sql_string(sql);
  ResultPtr result;
  if (simple) {
    result.reset(PQexec(conn_, sql_string.c_str()));
  } else {
    std::vector<Oid> types(params.size(), 0);
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<int> formats(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const std::optional<std::string>& value = params[i].value();
      if (value.has_value()) values[i] = value->c_str();
      if (params[i].is_bytes()) {
        types[i] = kByteaOid;
        formats[i] = 1;
        lengths[i] = value.has_value() ? static_cast<int>(value->size()) : 0;
      }
    }
    result.reset(PQexecParams(conn_, sql_string.c_str(), static_cast<int>(params.size()),
                              types.data(), values.data(), lengths.data(), formats.data(),
                              /*resultFormat=*/binary_result ? 1 : 0));
  }
  const ExecStatusType status = PQresultStatus(result.get());
  if (result == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
    if (result != nullptr && (status == PGRES_COPY_IN || status == PGRES_COPY_OUT)) {
      return absl::InternalError("COPY is not supported by PgDb");
    }
    return ErrorFor(conn_, result.get(), target_);
  }
  return result;
}

absl::Status PgDb::Exec(absl::string_view sql) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  return Run(sql, {}, /*simple=*/true).status();
}

namespace {

// Copies a result's rows. In text format a bytea column is hex and is
// decoded here; in binary format every value is its bytes already.
absl::StatusOr<PgResult> CopyResult(const pg_result* result, bool binary) {
  PgResult out;
  const int rows = PQntuples(result);
  const int columns = PQnfields(result);
  out.rows.reserve(rows);
  for (int r = 0; r < rows; ++r) {
    std::vector<std::optional<std::string>> values(columns);
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result, r, c)) continue;
      const char* text = PQgetvalue(result, r, c);
      if (binary || PQftype(result, c) != kByteaOid) {
        values[c].emplace(text, PQgetlength(result, r, c));
        continue;
      }
      size_t length = 0;
      unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
      if (bytes == nullptr) return absl::InternalError("libpq: out of memory");
      values[c].emplace(reinterpret_cast<const char*>(bytes), length);
      PQfreemem(bytes);
    }
    out.rows.emplace_back(std::move(values));
  }
  absl::SimpleAtoi(PQcmdTuples(const_cast<pg_result*>(result)), &out.affected_rows);
  return out;
}

}  // namespace

absl::StatusOr<PgResult> PgDb::Query(absl::string_view sql, absl::Span<const PgParam> params) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  FG_ASSIGN_OR_RETURN(ResultPtr result, Run(sql, params, /*simple=*/false));
  return CopyResult(result.get(), /*binary=*/false);
}

absl::StatusOr<PgResult> PgDb::QueryBinary(absl::string_view sql,
                                            absl::Span<const PgParam> params) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  FG_ASSIGN_OR_RETURN(ResultPtr result,
                      Run(sql, params, /*simple=*/false, /*binary_result=*/true));
  return CopyResult(result.get(), /*binary=*/true);
}

absl::Status PgDb::Begin(PgIsolation isolation) {
  if (in_transaction_) {
    return absl::FailedPreconditionError(
        "InTransaction inside a transaction: PostgreSQL does not nest them");
  }
  FG_RETURN_IF_ERROR(EnsureConnected());
  const char* sql = "BEGIN ISOLATION LEVEL READ COMMITTED";
  if (isolation == PgIsolation::kRepeatableRead) sql = "BEGIN ISOLATION LEVEL REPEATABLE READ";
  if (isolation == PgIsolation::kSerializable) sql = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  FG_RETURN_IF_ERROR(Run(sql, {}, /*simple=*/true).status());
  in_transaction_ = true;
  return absl::OkStatus();
}

absl::Status PgDb::Commit() {
  in_transaction_ = false;
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(absl::StrCat("lost the connection to ", target_,
                                    " inside a transaction, which was rolled back"));
  }
  absl::StatusOr<ResultPtr> result = Run("COMMIT", {}, /*simple=*/true);
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kUnavailable) return result.status();
    return RewordStatus(result.status(),
                        absl::StrCat(result.status().message(),
                                     "; the transaction may or may not have been committed"));
  }
  // COMMIT of a transaction in which a statement failed rolls back, and
  // says so only in its command tag.
  if (absl::string_view(PQcmdStatus(result->get())) == "ROLLBACK") {
    return absl::InternalError(absl::StrCat(
        "the transaction was rolled back at COMMIT: a statement in it had failed (", target_, ")"));
  }
  return absl::OkStatus();
}

void PgDb::Rollback() {
  in_transaction_ = false;
  if (PQstatus(conn_) != CONNECTION_OK) return;  // The server rolls it back.
  Run("ROLLBACK", {}, /*simple=*/true).IgnoreError();
}

absl::Status PgDb::Listen(absl::string_view channel) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  char* quoted = PQescapeIdentifier(conn_, channel.data(), channel.size());
  if (quoted == nullptr) return ErrorFor(conn_, nullptr, target_);
  const std::string sql = absl::StrCat("LISTEN ", quoted);
  PQfreemem(quoted);
  FG_RETURN_IF_ERROR(Run(sql, {}, /*simple=*/true).status());
  listening_.insert(std::string(channel));
  return absl::OkStatus();
}

absl::Status PgDb::Unlisten(absl::string_view channel) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  char* quoted = PQescapeIdentifier(conn_, channel.data(), channel.size());
  if (quoted == nullptr) return ErrorFor(conn_, nullptr, target_);
  const std::string sql = absl::StrCat("UNLISTEN ", quoted);
  PQfreemem(quoted);
  FG_RETURN_IF_ERROR(Run(sql, {}, /*simple=*/true).status());
  listening_.erase(std::string(channel));
  return absl::OkStatus();
}

absl::Status PgDb::Notify(absl::string_view channel, absl::string_view payload) {
  return Query("SELECT pg_notify($1, $2)", {channel, payload}).status();
}

absl::StatusOr<std::optional<PgNotification>> PgDb::WaitForNotification(absl::Time deadline) {
  CancellationToken never;
  return WaitForNotification(deadline, never);
}

absl::StatusOr<std::optional<PgNotification>> PgDb::WaitForNotification(
    absl::Time deadline, const CancellationToken& cancel) {
  FG_RETURN_IF_ERROR(EnsureConnected());
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd failed: errno ", errno));
  }
  struct CloseFd {
    int fd;
    ~CloseFd() { close(fd); }
  } close_wake_fd{wake_fd};
  // Destroyed before the fd is closed: the callback never writes to a
  // closed (or reused) descriptor.
  CancellationCallback on_cancel(cancel, [wake_fd] {
    const uint64_t one = 1;
    while (write(wake_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  });
  for (;;) {
    if (PGnotify* notify = PQnotifies(conn_)) {
      PgNotification notification{notify->relname, notify->extra ? notify->extra : ""};
      PQfreemem(notify);
      return std::optional<PgNotification>(std::move(notification));
    }
    if (cancel.IsCancelled()) {
      return absl::CancelledError("stopped waiting for a database notification");
    }
    const absl::Duration left = deadline - Clock::Real()->Now();
    if (left <= absl::ZeroDuration()) return std::optional<PgNotification>();
    const int timeout_ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT_MAX));
    pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll failed: errno ", errno));
    }
    if (ready > 0 && fds[0].revents != 0 && !PQconsumeInput(conn_)) {
      return ErrorFor(conn_, nullptr, target_);
    }
  }
}

absl::StatusOr<bool> PgDb::TryAdvisoryLock(int64_t key) {
  FG_ASSIGN_OR_RETURN(PgResult result, Query("SELECT pg_try_advisory_lock($1)", {key}));
  return !result.rows.empty() && result.rows[0].Bool(0);
}

absl::Status PgDb::AdvisoryUnlock(int64_t key) {
  FG_ASSIGN_OR_RETURN(PgResult result, Query("SELECT pg_advisory_unlock($1)", {key}));
  if (result.rows.empty() || !result.rows[0].Bool(0)) {
    return absl::FailedPreconditionError(
        absl::StrCat("advisory lock ", key, " is not held by this session (", target_, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> PgDb::TryAdvisoryXactLock(int64_t key) {
  if (!in_transaction_) {
    return absl::FailedPreconditionError(
        "a transaction advisory lock outside InTransaction would be released at once");
  }
  FG_ASSIGN_OR_RETURN(PgResult result, Query("SELECT pg_try_advisory_xact_lock($1)", {key}));
  return !result.rows.empty() && result.rows[0].Bool(0);
}

}  // namespace followgate
