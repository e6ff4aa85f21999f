// The invitations service (and the rpc log lines of refused calls) in
// process over real gRPC, against the sandbox's ConnectSafely over real
// libcurl, with callers authenticated from a callers file.
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/invitations.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/grpc/caller_auth.h"
#include "server/sandbox/sandbox_fault.h"
#include "server/sandbox/sandbox_upstreams.h"
#include "server/grpc/server.h"
#include "tests/testing/stderr_capture.h"

namespace followgate {
namespace {

using sandbox::SandboxFault;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSenderToken[] = "sender-token-0c5e2a";  // invitations.send
constexpr char kReaderToken[] = "reader-token-9a41bd";  // follows.read only

class InvitationsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto upstreams = sandbox::SandboxUpstreams::Start({});
    ASSERT_TRUE(upstreams.ok()) << upstreams.status();
    upstreams_ = *std::move(upstreams);
    const std::string dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.state_dir = dir;
    options.linkedin.base_url = upstreams_->base_url();
    options.linkedin.access_token = sandbox::SandboxUpstreamsOptions().linkedin.access_token;
    options.connectsafely.base_url = upstreams_->base_url();
    options.connectsafely.api_key = sandbox::SandboxUpstreamsOptions().connectsafely.api_key;
    options.invitations.max_retries = 0;
    options.drain_grace = absl::Milliseconds(100);
    options.callers_file = dir + "-callers.json";
    std::ofstream(options.callers_file)
        << absl::StrCat(R"({"callers":[{"name":"sender","token_sha256":")", Sha256Hex(kSenderToken),
                        R"(","scopes":["invitations.send"]},{"name":"reader","token_sha256":")",
                        Sha256Hex(kReaderToken), R"(","scopes":["follows.read"]}]})");
    auto server = FollowgateServer::BuildAndStart(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    invitations_ = v1::InvitationsService::NewStub(channel);
    follows_ = v1::FollowsService::NewStub(channel);
  }

  static void Authenticate(grpc::ClientContext* context, const char* token) {
    if (token != nullptr) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }

  static v1::SendInvitationsRequest OneProfile() {
    v1::SendInvitationsRequest request;
    request.set_company_id("105672170");
    request.set_request_id("batch-1");
    request.add_profile_urns("urn:li:fsd_profile:ACoAAB1");
    return request;
  }

  grpc::Status SendInvitations(const char* token) {
    grpc::ClientContext context;
    Authenticate(&context, token);
    auto reader = invitations_->SendInvitations(&context, OneProfile());
    v1::SendInvitationsResponse response;
    while (reader->Read(&response)) {
    }
    return reader->Finish();
  }

  std::unique_ptr<sandbox::SandboxUpstreams> upstreams_;
  std::unique_ptr<FollowgateServer> server_;
  std::unique_ptr<v1::InvitationsService::Stub> invitations_;
  std::unique_ptr<v1::FollowsService::Stub> follows_;
};

// The "rpc" log lines among `lines`.
std::vector<nlohmann::json> RpcLines(const std::string& lines) {
  std::vector<nlohmann::json> rpcs;
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_object() && parsed.value("event", "") == "rpc") rpcs.push_back(parsed);
  }
  return rpcs;
}

TEST_F(InvitationsServiceTest, RpcLineCountsTheRequestThatGotA401) {
  upstreams_->connectsafely().AddFaults({SandboxFault::Status(401)});
  testing::StderrCapture log;
  const grpc::Status status = SendInvitations(kSenderToken);
  const std::vector<nlohmann::json> rpcs = RpcLines(log.Stop());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(rpcs.size(), 1u);
  EXPECT_EQ(rpcs[0]["method"], "SendInvitations");
  EXPECT_EQ(rpcs[0]["caller"], "sender");
  EXPECT_EQ(rpcs[0]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(rpcs[0]["upstream_requests"], 1);
  EXPECT_EQ(upstreams_->connectsafely().Stats().requests, 1);
}

TEST_F(InvitationsServiceTest, RefusedCallsAreLoggedWithTheAuthenticatedCallerOrUnauthenticated) {
  testing::StderrCapture log;
  const grpc::Status denied = SendInvitations(kReaderToken);
  const grpc::Status anonymous = SendInvitations(nullptr);
  grpc::Status follows_denied;
  {
    grpc::ClientContext context;
    Authenticate(&context, kSenderToken);
    v1::StreamFollowersRequest request;
    request.set_followee("urn:li:organizationalPage:1000");
    auto reader = follows_->StreamFollowers(&context, request);
    v1::FollowerPage page;
    while (reader->Read(&page)) {
    }
    follows_denied = reader->Finish();
  }
  grpc::Status list_denied;
  {
    grpc::ClientContext context;
    Authenticate(&context, kSenderToken);
    v1::ListFollowersRequest request;
    request.set_followee("urn:li:organizationalPage:1000");
    v1::ListFollowersResponse response;
    list_denied = follows_->ListFollowers(&context, request, &response);
  }
  const std::vector<nlohmann::json> rpcs = RpcLines(log.Stop());
  EXPECT_EQ(list_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(follows_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_EQ(rpcs.size(), 4u);
  EXPECT_EQ(rpcs[0]["method"], "SendInvitations");
  EXPECT_EQ(rpcs[0]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(rpcs[0]["caller"], "reader");
  EXPECT_EQ(rpcs[1]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(rpcs[1]["caller"], "unauthenticated");
  EXPECT_EQ(rpcs[2]["method"], "StreamFollowers");
  EXPECT_EQ(rpcs[2]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(rpcs[2]["caller"], "sender");
  EXPECT_EQ(rpcs[3]["method"], "ListFollowers");
  EXPECT_EQ(rpcs[3]["caller"], "sender");
  EXPECT_EQ(upstreams_->connectsafely().Stats().requests, 0);
}

TEST_F(InvitationsServiceTest, AcceptedCallerTokensAreRedactedFromLogs) {
  testing::StderrCapture log;
  grpc::ClientContext context;
  Authenticate(&context, kSenderToken);
  v1::GetInvitationRequest request;
  request.set_company_id("105672170");
  request.set_profile_urn(absl::StrCat("urn:li:fsd_profile:", kSenderToken));
  v1::Invitation invitation;
  const grpc::Status status = invitations_->GetInvitation(&context, request, &invitation);
  const std::string lines = log.Stop();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), Not(HasSubstr(kSenderToken)));
  EXPECT_THAT(lines, Not(HasSubstr(kSenderToken)));
}

TEST_F(InvitationsServiceTest, DrainEndsABatchSayingToSendTheSameRequestIdAgain) {
  upstreams_->connectsafely().AddFaults({SandboxFault::Slow(absl::Milliseconds(800))});
  grpc::ClientContext context;
  Authenticate(&context, kSenderToken);
  auto reader = invitations_->SendInvitations(&context, OneProfile());
  v1::SendInvitationsResponse first;
  ASSERT_TRUE(reader->Read(&first));  // What is known before sending.
  std::thread stopper([&] { server_->Shutdown(); });
  v1::SendInvitationsResponse response;
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  stopper.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  EXPECT_THAT(status.error_message(), HasSubstr("with the same request_id"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("resume token")));
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  google::rpc::ErrorInfo info;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&info);
  }
  EXPECT_EQ(info.reason(), "SERVER_DRAINING");
  EXPECT_EQ(info.metadata().count("resume_token"), 0u);
}

}  // namespace
}  // namespace followgate
