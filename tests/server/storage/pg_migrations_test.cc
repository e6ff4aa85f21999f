#include "server/storage/pg_migrations.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/storage/pg_db.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

// One cluster for the whole binary; each test migrates a component and
// tables of its own.
class PgMigrationsTest : public PostgresSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "no PostgreSQL server";
    db_ = Connect();
    ASSERT_NE(db_, nullptr);
  }

  // A connection as the superuser; nullptr (and a failure) if there is none.
  static std::unique_ptr<PgDb> Connect() {
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(server_->url());
    EXPECT_THAT(db, IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }

  // The versions recorded for `component`, in order.
  std::vector<int64_t> Recorded(const std::string& component) {
    absl::StatusOr<PgResult> rows = db_->Query(
        "SELECT version FROM schema_migrations WHERE component = $1 ORDER BY version", {component});
    EXPECT_THAT(rows, IsOk());
    std::vector<int64_t> versions;
    if (rows.ok()) {
      for (const PgRow& row : rows->rows) versions.push_back(row.Int(0));
    }
    return versions;
  }

  // The single integer a query returns; -1 (and a failure) on error.
  int64_t Scalar(const std::string& sql) {
    absl::StatusOr<PgResult> rows = db_->Query(sql);
    EXPECT_THAT(rows, IsOk());
    return rows.ok() && !rows->rows.empty() ? rows->rows[0].Int(0) : -1;
  }

  std::unique_ptr<PgDb> db_;
};


TEST_F(PgMigrationsTest, AppliesInOrderAndRecordsEachVersion) {
  // Each step needs the one before it.
  const std::vector<Migration> migrations = {
      {1, "CREATE TABLE order_t (id int PRIMARY KEY)"},
      {2, "ALTER TABLE order_t ADD COLUMN name text NOT NULL DEFAULT 'a'"},
      {3, "INSERT INTO order_t(id) VALUES (7); UPDATE order_t SET name = 'b'"},
  };
  ASSERT_THAT(ApplyMigrations(*db_, "order", migrations), IsOk());
  EXPECT_THAT(Recorded("order"), ElementsAre(1, 2, 3));
  EXPECT_EQ(Scalar("SELECT count(*) FROM order_t WHERE id = 7 AND name = 'b'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM schema_migrations "
                   "WHERE component = 'order' AND applied_at IS NOT NULL"),
            3);
}

TEST_F(PgMigrationsTest, ApplyingAgainDoesNothing) {
  // Not idempotent by itself: a second run would add a row.
  const std::vector<Migration> migrations = {
      {1, "CREATE TABLE again_t (id int GENERATED ALWAYS AS IDENTITY)"},
      {2, "INSERT INTO again_t DEFAULT VALUES"},
  };
  ASSERT_THAT(ApplyMigrations(*db_, "again", migrations), IsOk());
  ASSERT_THAT(ApplyMigrations(*db_, "again", migrations), IsOk());
  std::unique_ptr<PgDb> other = Connect();
  ASSERT_NE(other, nullptr);
  ASSERT_THAT(ApplyMigrations(*other, "again", migrations), IsOk());

  EXPECT_EQ(Scalar("SELECT count(*) FROM again_t"), 1);
  EXPECT_THAT(Recorded("again"), ElementsAre(1, 2));
}

TEST_F(PgMigrationsTest, AppliesANewVersionOnTop) {
  std::vector<Migration> migrations = {
      {1, "CREATE TABLE top_t (id int PRIMARY KEY)"},
  };
  ASSERT_THAT(ApplyMigrations(*db_, "top", migrations), IsOk());
  ASSERT_THAT(db_->Exec("INSERT INTO top_t VALUES (1)"), IsOk());

  migrations.push_back({2, "ALTER TABLE top_t ADD COLUMN label text NOT NULL DEFAULT 'new'"});
  ASSERT_THAT(ApplyMigrations(*db_, "top", migrations), IsOk());

  EXPECT_THAT(Recorded("top"), ElementsAre(1, 2));
  // The table was altered, not made again: its row is still there.
  EXPECT_EQ(Scalar("SELECT count(*) FROM top_t WHERE id = 1 AND label = 'new'"), 1);
}

TEST_F(PgMigrationsTest, ReplicasStartingAtOnceAllSucceedAndApplyOnce) {
  constexpr int kReplicas = 8;
  // Neither step may run twice: CREATE TABLE fails, the INSERT adds a row.
  const std::vector<Migration> migrations = {
      {1, "CREATE TABLE fleet_t (id int GENERATED ALWAYS AS IDENTITY)"},
      {2, "INSERT INTO fleet_t DEFAULT VALUES"},
  };
  std::vector<std::unique_ptr<PgDb>> connections;
  for (int i = 0; i < kReplicas; ++i) {
    connections.push_back(Connect());
    ASSERT_NE(connections.back(), nullptr);
  }
  std::vector<absl::Status> results(kReplicas);
  absl::Barrier* start = new absl::Barrier(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([&, i] {
      if (start->Block()) delete start;
      results[i] = ApplyMigrations(*connections[i], "fleet", migrations);
    });
  }
  for (std::thread& replica : replicas) replica.join();

  for (int i = 0; i < kReplicas; ++i) EXPECT_THAT(results[i], IsOk()) << "replica " << i;
  EXPECT_EQ(Scalar("SELECT count(*) FROM fleet_t"), 1);
  EXPECT_THAT(Recorded("fleet"), ElementsAre(1, 2));
}

TEST_F(PgMigrationsTest, ComponentsStartingAtOnceOnAFreshDatabaseAllSucceed) {
  // A database of its own, so that schema_migrations does not exist yet and
  // every component races to create it.
  ASSERT_THAT(db_->Exec("CREATE DATABASE fresh"), IsOk());
  const std::string url = server_->url();
  const std::string fresh_url = url.substr(0, url.rfind('/')) + "/fresh";
  constexpr int kComponents = 8;
  std::vector<std::unique_ptr<PgDb>> connections;
  for (int i = 0; i < kComponents; ++i) {
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(fresh_url);
    ASSERT_THAT(db, IsOk());
    connections.push_back(std::move(*db));
  }
  std::vector<absl::Status> results(kComponents);
  absl::Barrier* start = new absl::Barrier(kComponents);
  std::vector<std::thread> components;
  for (int i = 0; i < kComponents; ++i) {
    components.emplace_back([&, i] {
      if (start->Block()) delete start;
      results[i] = ApplyMigrations(*connections[i], absl::StrCat("fresh", i),
                                   {{1, absl::StrCat("CREATE TABLE fresh_t", i, " (id int)")}});
    });
  }
  for (std::thread& component : components) component.join();

  for (int i = 0; i < kComponents; ++i) EXPECT_THAT(results[i], IsOk()) << "component " << i;
  absl::StatusOr<PgResult> recorded =
      connections[0]->Query("SELECT count(*) FROM schema_migrations WHERE version = 1");
  ASSERT_THAT(recorded, IsOk());
  EXPECT_EQ(recorded->rows.at(0).Int(0), kComponents);
}

TEST_F(PgMigrationsTest, RefusesASchemaNewerThanItKnows) {
  const std::vector<Migration> newer = {
      {1, "CREATE TABLE newer_t (id int)"},
      {2, "ALTER TABLE newer_t ADD COLUMN a int"},
      {3, "ALTER TABLE newer_t ADD COLUMN b int"},
  };
  ASSERT_THAT(ApplyMigrations(*db_, "newer", newer), IsOk());

  const std::vector<Migration> older = {newer[0]};
  absl::Status status = ApplyMigrations(*db_, "newer", older);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr("newer schema is at version 3"),
                                     HasSubstr("knows only up to version 1"),
                                     HasSubstr("upgrade this replica"))));
  EXPECT_THAT(ErrorReason(status), Optional(std::string("SCHEMA_TOO_NEW")));
  EXPECT_THAT(Recorded("newer"), ElementsAre(1, 2, 3));
}

TEST_F(PgMigrationsTest, AFailingMigrationRollsBackEverything) {
  const std::vector<Migration> migrations = {
      {1, "CREATE TABLE failing_t (id int PRIMARY KEY)"},
      {2, "INSERT INTO failing_t VALUES (1); INSERT INTO failing_t VALUES (1)"},
  };
  EXPECT_THAT(ApplyMigrations(*db_, "failing", migrations),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("migrating the failing schema to version 2")));

  EXPECT_THAT(Recorded("failing"), IsEmpty());
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'failing_t'"), 0);
  // Nothing half-done is left in the way of a corrected release.
  const std::vector<Migration> fixed = {migrations[0], {2, "INSERT INTO failing_t VALUES (1)"}};
  EXPECT_THAT(ApplyMigrations(*db_, "failing", fixed), IsOk());
  EXPECT_THAT(Recorded("failing"), ElementsAre(1, 2));
}

TEST_F(PgMigrationsTest, RejectsVersionsThatDoNotIncrease) {
  EXPECT_THAT(ApplyMigrations(*db_, "bad", {{1, "SELECT 1"}, {1, "SELECT 2"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 comes after 1")));
  EXPECT_THAT(ApplyMigrations(*db_, "bad", {{0, "SELECT 1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 comes after 0")));
  EXPECT_THAT(ApplyMigrations(*db_, "bad", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no migrations")));
}

}  // namespace
}  // namespace followgate
