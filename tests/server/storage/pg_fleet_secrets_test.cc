// Fleet secrets against a real PostgreSQL: made once for every replica, and
// as a StateBlob that one replica replaces for all.
#include "server/storage/pg_fleet_secrets.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/pg_db.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::PostgresSuiteTest;
using ::testing::Optional;

using PgFleetSecretsTest = PostgresSuiteTest;

TEST_F(PgFleetSecretsTest, ABlobSavedByOneReplicaIsReadByAnother) {
  auto one = FleetSecretBlob(server_->url(), "", "linkedin_token:acme");
  auto two = FleetSecretBlob(server_->url(), "", "linkedin_token:acme");
  auto other = FleetSecretBlob(server_->url(), "", "linkedin_token:globex");
  EXPECT_THAT(one->Load(), IsOk());
  EXPECT_EQ(*one->Load(), std::nullopt);  // Nothing yet (the table is made on first use).
  ASSERT_THAT(one->Save(R"({"access_token":"first"})"), IsOk());
  EXPECT_THAT(*two->Load(), Optional(std::string(R"({"access_token":"first"})")));
  ASSERT_THAT(two->Save(R"({"access_token":"second"})"), IsOk());  // Replaced, not added.
  EXPECT_THAT(*one->Load(), Optional(std::string(R"({"access_token":"second"})")));
  EXPECT_EQ(*other->Load(), std::nullopt);
  EXPECT_EQ(one->Describe(), "the database's fleet secret linkedin_token:acme");
}

TEST_F(PgFleetSecretsTest, ABlobRecoversAfterTheDatabaseRestarts) {
  auto blob = FleetSecretBlob(server_->url(), "", "linkedin_token:restart");
  ASSERT_THAT(blob->Save("before"), IsOk());
  ASSERT_THAT(server_->Stop(), IsOk());
  EXPECT_EQ(blob->Save("while away").code(), absl::StatusCode::kUnavailable);
  ASSERT_THAT(server_->Start(), IsOk());
  ASSERT_THAT(blob->Save("after"), IsOk());
  EXPECT_THAT(*blob->Load(), Optional(std::string("after")));
}

}  // namespace
}  // namespace followgate
