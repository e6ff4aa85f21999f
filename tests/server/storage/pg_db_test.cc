#include "server/storage/pg_db.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/cancellation.h"
#include "server/base/error_details.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::PostgresServer;
using ::followgate::testing::PostgresSuiteTest;
using ::followgate::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

MATCHER_P(IsOkAndHolds, value, "is OK and holds " + ::testing::PrintToString(value)) {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  *result_listener << "which holds " << ::testing::PrintToString(*arg);
  return *arg == value;
}

// One cluster for the whole binary (it takes about a second to make); each
// test uses tables, channels and lock keys of its own. Tests that stop the
// server start it again before they end.
class PgDbTest : public PostgresSuiteTest {
 protected:
  // A connection as the superuser; nullptr (and a failure) if there is none.
  static std::unique_ptr<PgDb> Connect() {
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(server_->url());
    EXPECT_THAT(db, IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }

};


TEST_F(PgDbTest, ExecRunsSeveralStatementsAndQueryReadsTheirRows) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE exec_t (id int PRIMARY KEY, name text);"
                       "INSERT INTO exec_t VALUES (1, 'one'), (2, 'two');"),
              IsOk());

  absl::StatusOr<PgResult> result = db->Query("SELECT id, name FROM exec_t ORDER BY id");
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(result->rows[0].Int(0), 1);
  EXPECT_EQ(result->rows[0].Text(1), "one");
  EXPECT_EQ(result->rows[1].Int(0), 2);
  EXPECT_EQ(result->rows[1].Text(1), "two");
  EXPECT_EQ(result->affected_rows, 2);
}

TEST_F(PgDbTest, QueryBindsTextIntegerBooleanNullAndByteParameters) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE params_t (name text, n bigint, flag boolean, "
                       "missing text, data bytea)"),
              IsOk());
  const std::string bytes("a\0b\xff'\\", 6);
  const std::string name = "it's \"quoted\"; DROP TABLE params_t; --";

  absl::StatusOr<PgResult> inserted =
      db->Query("INSERT INTO params_t VALUES ($1, $2, $3, $4, $5)",
                {name, int64_t{-9007199254740993}, true, std::nullopt, PgParam::Bytes(bytes)});
  ASSERT_THAT(inserted, IsOk());
  EXPECT_EQ(inserted->affected_rows, 1);

  absl::StatusOr<PgResult> read =
      db->Query("SELECT name, n, flag, missing, data FROM params_t WHERE n = $1 AND flag = $2",
                {int64_t{-9007199254740993}, true});
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->rows.size(), 1u);
  const PgRow& row = read->rows[0];
  EXPECT_EQ(row.Text(0), name);
  EXPECT_EQ(row.Int(1), -9007199254740993);
  EXPECT_TRUE(row.Bool(2));
  EXPECT_TRUE(row.IsNull(3));
  EXPECT_FALSE(row.IsNull(4));
  EXPECT_EQ(row.Text(4), bytes);
  EXPECT_TRUE(row.IsNull(5));  // Past the last column.
}

TEST_F(PgDbTest, InTransactionCommitsWhatTheBodyWrote) {
  std::unique_ptr<PgDb> db = Connect();
  std::unique_ptr<PgDb> other = Connect();
  ASSERT_TRUE(db != nullptr && other != nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE commit_t (id int)"), IsOk());

  const absl::Status status = db->InTransaction([&] {
    absl::Status inserted = db->Query("INSERT INTO commit_t VALUES (1)").status();
    // Not visible to another session before COMMIT.
    absl::StatusOr<PgResult> seen = other->Query("SELECT count(*) FROM commit_t");
    EXPECT_THAT(seen, IsOk());
    if (seen.ok()) {
      EXPECT_EQ(seen->rows[0].Int(0), 0);
    }
    return inserted;
  });
  ASSERT_THAT(status, IsOk());

  absl::StatusOr<PgResult> seen = other->Query("SELECT count(*) FROM commit_t");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(seen->rows[0].Int(0), 1);
}

TEST_F(PgDbTest, InTransactionRollsBackWhenTheBodyFails) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE rollback_t (id int)"), IsOk());

  const absl::Status status = db->InTransaction([&] {
    EXPECT_THAT(db->Query("INSERT INTO rollback_t VALUES (1)"), IsOk());
    return absl::NotFoundError("the body gave up");
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, "the body gave up"));

  absl::StatusOr<PgResult> seen = db->Query("SELECT count(*) FROM rollback_t");
  ASSERT_THAT(seen, IsOk());  // The session is usable again: no transaction left open.
  EXPECT_EQ(seen->rows[0].Int(0), 0);
  EXPECT_THAT(db->InTransaction([] { return absl::OkStatus(); }), IsOk());
}

TEST_F(PgDbTest, ABodyThatIgnoresAFailedStatementIsNotCommitted) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE ignored_t (id int PRIMARY KEY)"), IsOk());

  const absl::Status status = db->InTransaction([&] {
    EXPECT_THAT(db->Query("INSERT INTO ignored_t VALUES (1)"), IsOk());
    db->Query("INSERT INTO ignored_t VALUES (1)").IgnoreError();
    return absl::OkStatus();
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal, HasSubstr("rolled back at COMMIT")));

  absl::StatusOr<PgResult> seen = db->Query("SELECT count(*) FROM ignored_t");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(seen->rows[0].Int(0), 0);
}

TEST_F(PgDbTest, TransactionsDoNotNest) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(db->InTransaction([&] { return db->InTransaction([] { return absl::OkStatus(); }); }),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("inside a transaction")));
}

TEST_F(PgDbTest, AUniqueViolationIsAlreadyExistsNamingTheConstraint) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE unique_t (id int CONSTRAINT unique_t_id UNIQUE)"), IsOk());
  ASSERT_THAT(db->Query("INSERT INTO unique_t VALUES ($1)", {7}), IsOk());

  EXPECT_THAT(db->Query("INSERT INTO unique_t VALUES ($1)", {7}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("unique_t_id")));
}

TEST_F(PgDbTest, AConcurrentUpdateUnderRepeatableReadIsAbortedAsAConflict) {
  std::unique_ptr<PgDb> db = Connect();
  std::unique_ptr<PgDb> other = Connect();
  ASSERT_TRUE(db != nullptr && other != nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE conflict_t (id int PRIMARY KEY, v int);"
                       "INSERT INTO conflict_t VALUES (1, 0)"),
              IsOk());

  const absl::Status status = db->InTransaction(
      [&] {
        // The snapshot is taken here...
        EXPECT_THAT(db->Query("SELECT v FROM conflict_t WHERE id = 1"), IsOk());
        // ...so this committed update is one the transaction cannot see.
        EXPECT_THAT(other->Exec("UPDATE conflict_t SET v = v + 1 WHERE id = 1"), IsOk());
        return db->Query("UPDATE conflict_t SET v = v + 10 WHERE id = 1").status();
      },
      PgIsolation::kRepeatableRead);

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, HasSubstr("40001")));
  EXPECT_THAT(ErrorReason(status), Optional(std::string("DATABASE_CONFLICT")));
  absl::StatusOr<PgResult> seen = db->Query("SELECT v FROM conflict_t");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(seen->rows[0].Int(0), 1);
}

// The rest of the error table, with SQLSTATEs raised on purpose.
TEST_F(PgDbTest, SqlStatesBecomeTheCodeThatSaysWhatToDo) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  auto raise = [&](const std::string& sqlstate) {
    return db->Exec(absl::StrCat("DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '", sqlstate,
                                 "'; END $$"));
  };

  const absl::Status deadlock = raise("40P01");
  EXPECT_THAT(deadlock, StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(ErrorReason(deadlock), Optional(std::string("DATABASE_CONFLICT")));

  const absl::Status full = raise("53100");
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no room left")));
  EXPECT_THAT(ErrorReason(full), Optional(std::string("STORAGE_FULL")));

  for (const char* unavailable : {"57P01", "57P03", "08006", "53300"}) {
    const absl::Status status = raise(unavailable);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable)) << unavailable;
    EXPECT_THAT(ErrorReason(status), Optional(std::string("DATABASE_UNAVAILABLE")));
    EXPECT_THAT(RetryDelay(status), Optional(kPgUnavailableRetryDelay));
  }

  EXPECT_THAT(
      db->Exec("SELECT * FROM no_such_table"),
      StatusIs(absl::StatusCode::kInternal, AllOf(HasSubstr("42P01"), HasSubstr("no_such_table"))));
}

TEST_F(PgDbTest, ANotificationReachesAListenerOnAnotherConnectionAfterCommit) {
  std::unique_ptr<PgDb> listener = Connect();
  std::unique_ptr<PgDb> notifier = Connect();
  ASSERT_TRUE(listener != nullptr && notifier != nullptr);
  ASSERT_THAT(listener->Listen("jobs channel"), IsOk());

  const absl::Status status = notifier->InTransaction([&] {
    absl::Status sent = notifier->Notify("jobs channel", "job 1");
    // Not delivered before the notifier commits.
    absl::StatusOr<std::optional<PgNotification>> early =
        listener->WaitForNotification(absl::Now() + absl::Milliseconds(100));
    EXPECT_THAT(early, IsOk());
    EXPECT_EQ(early.value_or(std::nullopt), std::nullopt);
    return sent;
  });
  ASSERT_THAT(status, IsOk());

  absl::StatusOr<std::optional<PgNotification>> got =
      listener->WaitForNotification(absl::Now() + absl::Seconds(10));
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->channel, "jobs channel");
  EXPECT_EQ((*got)->payload, "job 1");
}

TEST_F(PgDbTest, WaitingForANotificationEndsAtTheDeadline) {
  std::unique_ptr<PgDb> listener = Connect();
  ASSERT_NE(listener, nullptr);
  ASSERT_THAT(listener->Listen("deadline_channel"), IsOk());

  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<PgNotification>> got =
      listener->WaitForNotification(start + absl::Milliseconds(300));
  const absl::Duration waited = absl::Now() - start;

  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, std::nullopt);
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LT(waited, absl::Seconds(5));
}

TEST_F(PgDbTest, WaitingForANotificationEndsWhenCancelled) {
  std::unique_ptr<PgDb> listener = Connect();
  ASSERT_NE(listener, nullptr);
  ASSERT_THAT(listener->Listen("cancel_channel"), IsOk());
  CancellationToken cancel;

  const absl::Time start = absl::Now();
  // Cancelled before or during the wait: either way the wait must end.
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(100));
    cancel.Cancel();
  });
  absl::StatusOr<std::optional<PgNotification>> got =
      listener->WaitForNotification(start + absl::Seconds(20), cancel);
  canceller.join();

  EXPECT_THAT(got, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(PgDbTest, AdvisoryLocksAreExclusiveAcrossConnections) {
  std::unique_ptr<PgDb> a = Connect();
  std::unique_ptr<PgDb> b = Connect();
  ASSERT_TRUE(a != nullptr && b != nullptr);

  EXPECT_THAT(a->TryAdvisoryLock(4201), IsOkAndHolds(true));
  EXPECT_THAT(b->TryAdvisoryLock(4201), IsOkAndHolds(false));
  EXPECT_THAT(b->AdvisoryUnlock(4201), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(a->AdvisoryUnlock(4201), IsOk());
  EXPECT_THAT(b->TryAdvisoryLock(4201), IsOkAndHolds(true));

  const absl::Status status = a->InTransaction([&] {
    EXPECT_THAT(a->TryAdvisoryXactLock(4202), IsOkAndHolds(true));
    EXPECT_THAT(b->TryAdvisoryLock(4202), IsOkAndHolds(false));
    return absl::OkStatus();
  });
  ASSERT_THAT(status, IsOk());
  // Released at COMMIT.
  EXPECT_THAT(b->TryAdvisoryLock(4202), IsOkAndHolds(true));
  EXPECT_THAT(a->TryAdvisoryXactLock(4203),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("InTransaction")));
}

TEST_F(PgDbTest, AStoppedDatabaseIsUnavailableUntilItIsBackThenTheNextCallReconnects) {
  std::unique_ptr<PgDb> db = Connect();
  std::unique_ptr<PgDb> notifier = Connect();
  ASSERT_TRUE(db != nullptr && notifier != nullptr);
  ASSERT_THAT(db->Listen("restart_channel"), IsOk());
  ASSERT_THAT(db->TryAdvisoryLock(4301), IsOkAndHolds(true));
  EXPECT_EQ(db->connection_generation(), 1);

  ASSERT_THAT(server_->Stop(), IsOk());
  const absl::Status lost = db->Query("SELECT 1").status();
  EXPECT_THAT(lost, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
  EXPECT_THAT(RetryDelay(lost), Optional(kPgUnavailableRetryDelay));
  EXPECT_THAT(ErrorReason(lost), Optional(std::string("DATABASE_UNAVAILABLE")));
  // Still away: the reconnection fails the same way.
  const absl::Status refused = db->Query("SELECT 1").status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reconnect")));
  EXPECT_THAT(RetryDelay(refused), Optional(kPgUnavailableRetryDelay));
  const absl::StatusOr<std::unique_ptr<PgDb>> fresh = PgDb::Connect(server_->url());
  EXPECT_THAT(fresh, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(RetryDelay(fresh.status()), Optional(kPgUnavailableRetryDelay));

  ASSERT_THAT(server_->Start(), IsOk());
  absl::StatusOr<PgResult> back = db->Query("SELECT 1");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->rows[0].Int(0), 1);
  EXPECT_EQ(db->connection_generation(), 2);
  // The session's lock went with it; its channels are listened to again.
  EXPECT_THAT(db->AdvisoryUnlock(4301), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Its connection was closed while idle: replaced before the statement.
  ASSERT_THAT(notifier->Notify("restart_channel", "after restart"), IsOk());
  absl::StatusOr<std::optional<PgNotification>> got =
      db->WaitForNotification(absl::Now() + absl::Seconds(10));
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->payload, "after restart");
}

TEST_F(PgDbTest, AListenerLearnsThatItsConnectionWasLost) {
  std::unique_ptr<PgDb> listener = Connect();
  ASSERT_NE(listener, nullptr);
  ASSERT_THAT(listener->Listen("lost_channel"), IsOk());

  ASSERT_THAT(server_->Stop(), IsOk());
  EXPECT_THAT(listener->WaitForNotification(absl::Now() + absl::Seconds(20)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(PgDbTest, TheFirstStatementAfterARestartRunsOnAFreshConnection) {
  std::unique_ptr<PgDb> db = Connect();
  std::unique_ptr<PgDb> in_transaction = Connect();
  std::unique_ptr<PgDb> listener = Connect();
  ASSERT_TRUE(db != nullptr && in_transaction != nullptr && listener != nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE restarted_t (id int)"), IsOk());
  ASSERT_THAT(listener->Listen("restarted_channel"), IsOk());

  // Idle connections, closed by the server as it stops: nothing was sent.
  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_THAT(server_->Start(), IsOk());

  EXPECT_THAT(db->Query("INSERT INTO restarted_t VALUES (1)"), IsOk());
  EXPECT_EQ(db->connection_generation(), 2);
  EXPECT_THAT(in_transaction->InTransaction(
                  [&] { return in_transaction->Query("INSERT INTO restarted_t VALUES (2)").status(); }),
              IsOk());
  EXPECT_EQ(in_transaction->connection_generation(), 2);
  // A listener too; its channel is listened to again on the fresh one.
  EXPECT_THAT(listener->Query("SELECT 1"), IsOk());
  ASSERT_THAT(db->Notify("restarted_channel", "back"), IsOk());
  absl::StatusOr<std::optional<PgNotification>> got =
      listener->WaitForNotification(absl::Now() + absl::Seconds(10));
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->payload, "back");
  absl::StatusOr<PgResult> seen = db->Query("SELECT count(*) FROM restarted_t");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(seen->rows[0].Int(0), 2);
}

TEST_F(PgDbTest, ALostConnectionIsNotReplacedInsideATransaction) {
  std::unique_ptr<PgDb> db = Connect();
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Exec("CREATE TABLE lost_t (id int)"), IsOk());

  const absl::Status status = db->InTransaction([&] {
    EXPECT_THAT(db->Query("INSERT INTO lost_t VALUES (1)"), IsOk());
    EXPECT_THAT(server_->Stop(), IsOk());
    EXPECT_THAT(db->Query("INSERT INTO lost_t VALUES (2)"),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(server_->Start(), IsOk());
    // The server is back, but this statement would run outside the
    // transaction (and commit on its own): it must fail too.
    const absl::Status after = db->Query("INSERT INTO lost_t VALUES (3)").status();
    EXPECT_THAT(after, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("inside a transaction")));
    return absl::OkStatus();  // Even a body that ignores it does not commit.
  });

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  absl::StatusOr<PgResult> seen = db->Query("SELECT count(*) FROM lost_t");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ(seen->rows[0].Int(0), 0);
}

TEST_F(PgDbTest, ThePasswordNeverAppearsInAMessage) {
  // Long enough to be registered for redaction, and one that is not: neither
  // may appear, whether given apart or inside the URL.
  const std::string password = "pg-password-4b1f9e";
  const std::string short_password = "Zq7kx";
  std::unique_ptr<PgDb> admin = Connect();
  ASSERT_NE(admin, nullptr);
  ASSERT_THAT(
      admin->Exec(absl::StrCat("CREATE ROLE app LOGIN PASSWORD '", password, "';",
                               "CREATE ROLE app_short LOGIN PASSWORD '", short_password, "'")),
      IsOk());
  const std::string url = server_->UrlFor("app");
  const std::string url_with_password =
      absl::StrCat("postgresql://app:", password, "@127.0.0.1:", server_->port(), "/postgres");
  const std::string url_with_short_password = absl::StrCat(
      "postgresql://app_short:", short_password, "@127.0.0.1:", server_->port(), "/postgres");
  auto leaks = [&](const absl::Status& status) {
    const std::string text = status.ToString();
    return text.find(password) != std::string::npos ||
           text.find(short_password) != std::string::npos;
  };

  EXPECT_THAT(PgDb::Connect(url),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("password")));
  const absl::StatusOr<std::unique_ptr<PgDb>> wrong = PgDb::Connect(url, "not-the-password-77");
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("app")));
  EXPECT_FALSE(leaks(wrong.status())) << wrong.status();
  const absl::StatusOr<std::unique_ptr<PgDb>> bad_url = PgDb::Connect(absl::StrCat(
      "postgresql://app:", password, "@127.0.0.1:", server_->port(), "/postgres?no_such_option=1"));
  EXPECT_THAT(bad_url, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(leaks(bad_url.status())) << bad_url.status();

  absl::StatusOr<std::unique_ptr<PgDb>> given = PgDb::Connect(url, password);
  ASSERT_THAT(given, IsOk());
  absl::StatusOr<std::unique_ptr<PgDb>> in_url = PgDb::Connect(url_with_password);
  ASSERT_THAT(in_url, IsOk());
  absl::StatusOr<std::unique_ptr<PgDb>> short_in_url = PgDb::Connect(url_with_short_password);
  ASSERT_THAT(short_in_url, IsOk());
  const absl::Status failed = (*given)->Exec("SELECT * FROM app_cannot_see_this");
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kInternal));
  EXPECT_FALSE(leaks(failed)) << failed;

  ASSERT_THAT(server_->Stop(), IsOk());
  for (PgDb* db : {given->get(), in_url->get(), short_in_url->get()}) {
    for (int call = 0; call < 2; ++call) {  // Lost, then cannot reconnect.
      const absl::Status status = db->Exec("SELECT 1");
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
      EXPECT_FALSE(leaks(status)) << status;
    }
  }
  for (const std::string& target : {url_with_password, url_with_short_password}) {
    const absl::StatusOr<std::unique_ptr<PgDb>> refused = PgDb::Connect(target);
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_FALSE(leaks(refused.status())) << refused.status();
  }
  const absl::StatusOr<std::unique_ptr<PgDb>> refused = PgDb::Connect(url, password);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(leaks(refused.status())) << refused.status();
}

}  // namespace
}  // namespace followgate
