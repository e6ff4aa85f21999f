// A full disk: SQLite's "full" outcomes are RESOURCE_EXHAUSTED (STORAGE_FULL)
// naming the file, reads of what is stored go on, and no invitation leaves
// without its claim recorded.
//
// The disk is made full with `PRAGMA max_page_count` (through
// SqliteFullDisk): SQLite then answers SQLITE_FULL exactly where a full disk
// makes it answer so, and only for the database under test. A small tmpfs
// would be closer to a real disk but needs privileges tests do not have, and
// filling the real disk would hurt every other process on the machine.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/upstream/connectsafely_client.h"
#include "server/base/error_details.h"
#include "server/invitations/invitation_batcher.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/sandbox/linkedin_sandbox.h"
#include "server/grpc/server.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/storage/sqlite_db.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "server/testing/sqlite_full_disk.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string NewTempDir() { return ::followgate::testing::NewTempDir("full"); }

class StorageFullTest : public ::testing::Test {
 protected:
  void SetUp() override { SqliteFullDisk::Install(); }
  std::string dir_ = NewTempDir();
};

TEST_F(StorageFullTest, FullDatabaseIsResourceExhaustedNamingTheFile) {
  const std::string file = dir_ + "/full.db";
  auto db = SqliteDb::Open(file);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Exec("CREATE TABLE t(x BLOB)"), IsOk());
  ASSERT_THAT(SqliteFullDisk::Fill(file), IsOk());
  auto insert = (*db)->Prepare("INSERT INTO t VALUES (?1)");
  ASSERT_THAT(insert, IsOk());
  const absl::Status full = insert->BindBlob(1, std::string(100000, 'x')).Run();
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted,
                             AllOf(HasSubstr(file), HasSubstr("full"))));
  EXPECT_THAT(ErrorReason(full), Optional(std::string("STORAGE_FULL")));
  EXPECT_THAT(
      (*db)->InTransaction([&] { return (*db)->Exec("INSERT INTO t VALUES (zeroblob(100000))"); }),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(file)));
}

TEST_F(StorageFullTest, SnapshotStoreKeepsReadingWhatItStoredWhenFull) {
  FakeClock clock;
  const std::string file = dir_ + "/snapshots.db";
  auto store = SqliteSnapshotStore::Open(file, &clock);
  ASSERT_THAT(store, IsOk());
  auto stored = (*store)->Create("followee:x");
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT((*store)->AppendPage(stored->id, 0, "page zero", ""), IsOk());
  auto growing = (*store)->Create("followee:y");
  ASSERT_THAT(growing, IsOk());
  ASSERT_THAT(SqliteFullDisk::Fill(file), IsOk());

  EXPECT_THAT((*store)->AppendPage(growing->id, 0, std::string(200000, 'p'), "next"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(file)));
  auto page = (*store)->ReadPage(stored->id, 0);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, Optional(std::string("page zero")));
  auto latest = (*store)->LatestComplete("followee:x");
  ASSERT_THAT(latest, IsOk());
  EXPECT_TRUE(latest->has_value());
}

TEST_F(StorageFullTest, NoInvitationLeavesWhenItsClaimCannotBeRecorded) {
  FakeClock clock;
  clock.EnableAutoAdvance(1);
  const std::string file = dir_ + "/invitations.db";
  auto ledger = SqliteInvitationLedger::Open(file, &clock);
  ASSERT_THAT(ledger, IsOk());
  // No script and no handler: any request to ConnectSafely fails the test.
  FakeHttpClient http(&clock);
  ConnectSafelyClientOptions client_options;
  client_options.base_url = "http://cs";
  client_options.api_key = "cs-key";
  ConnectSafelyClient client(&http, &clock, client_options);
  InvitationBatcher batcher(ledger->get(), &client, &clock, {});

  // The batch is recorded while there is room; its claims need more (long
  // URNs: 50 of them fill several pages).
  v1::SendInvitationsRequest request;
  request.set_company_id("1000");
  request.set_request_id("full-ledger");
  BatchSpec spec;
  spec.request_id = request.request_id();
  spec.company_id = request.company_id();
  for (int i = 0; i < 60; ++i) {
    const std::string urn =
        absl::StrCat("urn:li:fsd_profile:ACoA", std::string(180, 'B'), 1000 + i);
    request.add_profile_urns(urn);
    spec.profile_urns.push_back(urn);
  }
  ASSERT_THAT((*ledger)->StartBatch(spec), IsOk());
  ASSERT_THAT(SqliteFullDisk::Fill(file), IsOk());

  CancellationToken never;
  int messages = 0;
  const absl::Status status = batcher.Run(request, never, [&](v1::SendInvitationsResponse) {
    ++messages;
    return absl::OkStatus();
  });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(file)));
  EXPECT_THAT(ErrorReason(status), Optional(std::string("STORAGE_FULL")));
  EXPECT_TRUE(http.sent().empty());
  auto pending = (*ledger)->PendingProfiles(spec.request_id);
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ(*pending, 60);

  // With room again, the batch goes on from where it was.
  ASSERT_THAT(SqliteFullDisk::Free(file), IsOk());
  EXPECT_THAT((*ledger)->ClaimChunk(spec.request_id, 50, false, std::nullopt), IsOk());
}

// The whole server on a full disk: a stored snapshot is still listed and
// streamed; what needs storing is RESOURCE_EXHAUSTED naming snapshots.db.
class FullDiskServerTest : public StorageFullTest {
 protected:
  void SetUp() override {
    StorageFullTest::SetUp();
    sandbox::LinkedInSandboxOptions sandbox_options;
    sandbox_options.pages = {{42, 1500, 0}, {43, 1500, 0}};
    sandbox_options.min_interval = absl::ZeroDuration();
    auto linkedin = sandbox::LinkedInSandbox::Start(sandbox_options);
    ASSERT_THAT(linkedin, IsOk());
    linkedin_ = *std::move(linkedin);
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.state_dir = dir_ + "/state";
    options.linkedin.base_url = linkedin_->base_url();
    options.linkedin.access_token = sandbox_options.access_token;
    options.linkedin_min_interval = absl::Milliseconds(10);
    auto server = FollowgateServer::BuildAndStart(options);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    stub_ = v1::FollowsService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  // Streams the members of `page`: the status and the edges received.
  std::pair<grpc::Status, int> StreamMembers(int page, absl::Duration max_staleness) {
    v1::StreamFollowersRequest request;
    request.set_followee(absl::StrCat("urn:li:organizationalPage:", page));
    request.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
    request.mutable_max_staleness()->set_seconds(absl::ToInt64Seconds(max_staleness));
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, request);
    v1::FollowerPage message;
    int edges = 0;
    while (reader->Read(&message)) edges += message.edges_size();
    return {reader->Finish(), edges};
  }

  grpc::Status ListMembers(int page, v1::ListFollowersResponse* response,
                           const std::string& page_token = "") {
    v1::ListFollowersRequest request;
    request.set_followee(absl::StrCat("urn:li:organizationalPage:", page));
    request.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
    request.set_page_token(page_token);
    grpc::ClientContext context;
    return stub_->ListFollowers(&context, request, response);
  }

  std::string SnapshotsFile() const { return dir_ + "/state/snapshots.db"; }

  std::unique_ptr<sandbox::LinkedInSandbox> linkedin_;
  std::unique_ptr<FollowgateServer> server_;
  std::unique_ptr<v1::FollowsService::Stub> stub_;
};

TEST_F(FullDiskServerTest, StoredSnapshotIsStillListedAfterAFailedCrawl) {
  ASSERT_EQ(StreamMembers(42, absl::Hours(1)).second, 1500);
  ASSERT_THAT(SqliteFullDisk::Fill(SnapshotsFile()), IsOk());

  // A crawl cannot store its pages: it stops with the reason, and the
  // snapshot it began stays in progress.
  auto [crawl, received] = StreamMembers(42, absl::ZeroDuration());
  EXPECT_EQ(crawl.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << crawl.error_message();
  EXPECT_THAT(crawl.error_message(), HasSubstr(SnapshotsFile()));
  EXPECT_EQ(received, 0);

  // The complete snapshot is fresh enough: it is read, not the stopped one
  // continued (which would need storing).
  v1::ListFollowersResponse first;
  grpc::Status listed = ListMembers(42, &first);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_EQ(first.edges_size(), 1000);
  v1::ListFollowersResponse rest;
  listed = ListMembers(42, &rest, first.next_page_token());
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_EQ(rest.edges_size(), 500);
  EXPECT_EQ(StreamMembers(42, absl::Hours(1)).second, 1500);

  // A page never stored needs storing.
  v1::ListFollowersResponse none;
  const grpc::Status unstored = ListMembers(43, &none);
  EXPECT_EQ(unstored.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(unstored.error_message(), HasSubstr(SnapshotsFile()));
}

}  // namespace
}  // namespace followgate
