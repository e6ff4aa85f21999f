// Build smoke test: each case touches one system library (or the generated
// protos) so that a broken include path or link line fails here first.

#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/follows.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

TEST(BuildSmokeTest, FollowerPageRoundTrips) {
  followgate::v1::FollowerPage page;
  page.set_sequence_number(7);
  page.set_last_page(true);
  page.set_upstream_total(1234);
  page.mutable_fetch_time()->set_seconds(1700000000);
  followgate::v1::FollowEdge* edge = page.add_edges();
  edge->mutable_follower()->set_urn("urn:li:person:abc");
  edge->mutable_follower()->set_kind(followgate::v1::FOLLOWER_KIND_MEMBER);
  edge->set_followee("urn:li:organizationalPage:42");

  std::string wire;
  ASSERT_TRUE(page.SerializeToString(&wire));
  followgate::v1::FollowerPage parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.sequence_number(), 7);
  EXPECT_TRUE(parsed.last_page());
  ASSERT_TRUE(parsed.has_upstream_total());
  EXPECT_EQ(parsed.upstream_total(), 1234);
  EXPECT_EQ(parsed.fetch_time().seconds(), 1700000000);
  ASSERT_EQ(parsed.edges_size(), 1);
  EXPECT_EQ(parsed.edges(0).follower().urn(), "urn:li:person:abc");
  EXPECT_EQ(parsed.edges(0).followee(), "urn:li:organizationalPage:42");
}

TEST(BuildSmokeTest, GrpcStubLinks) {
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      "localhost:1", grpc::InsecureChannelCredentials());
  ASSERT_NE(channel, nullptr);
  auto stub = followgate::v1::FollowsService::NewStub(channel);
  EXPECT_NE(stub, nullptr);
  EXPECT_STREQ(followgate::v1::FollowsService::service_full_name(),
               "followgate.v1.FollowsService");
}

TEST(BuildSmokeTest, AbseilLinks) {
  absl::StatusOr<int> value = absl::NotFoundError("missing");
  EXPECT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(absl::StrCat("a", 1, "b"), "a1b");
}

TEST(BuildSmokeTest, CurlLinks) {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  ASSERT_NE(info, nullptr);
  EXPECT_NE(info->version, nullptr);
}

TEST(BuildSmokeTest, Sqlite3Works) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT 40 + 2", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 42);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(BuildSmokeTest, JsonParses) {
  nlohmann::json j = nlohmann::json::parse(R"({"paging": {"total": 3}})");
  EXPECT_EQ(j["paging"]["total"].get<int>(), 3);
}

}  // namespace
