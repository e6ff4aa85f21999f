// A test fixture whose suite shares one throwaway PostgreSQL cluster.
#ifndef FOLLOWGATE_TESTS_TESTING_POSTGRES_SUITE_H_
#define FOLLOWGATE_TESTS_TESTING_POSTGRES_SUITE_H_

#include <cstdlib>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"

namespace followgate::testing {

// One cluster for the whole suite (it takes about a second to make), made
// hermetic: no password from the environment or a ~/.pgpass. Each test uses
// tables, databases or names of its own; a test that stops the server finds
// it started again for the next one.
class PostgresSuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsetenv("PGPASSWORD");
    setenv("PGPASSFILE", absl::StrCat(std::getenv("TEST_TMPDIR"), "/no-pgpass").c_str(), 1);
    absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Create();
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr) << "no PostgreSQL server"; }
  void TearDown() override {
    if (server_ != nullptr && !server_->running()) {
      ASSERT_THAT(server_->Start(), IsOk());
    }
  }

  static inline PostgresServer* server_ = nullptr;
};

}  // namespace followgate::testing

#endif  // FOLLOWGATE_TESTS_TESTING_POSTGRES_SUITE_H_
