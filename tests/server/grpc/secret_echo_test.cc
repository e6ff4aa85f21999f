// The whole server in process over real gRPC and real libcurl, against the
// sandbox upstreams on 127.0.0.1:0 turned hostile: their error bodies quote
// the credentials they received. No secret may reach the caller (message or
// google.rpc details) or a log line.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/invitations.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/sandbox/sandbox_fault.h"
#include "server/sandbox/sandbox_upstreams.h"
#include "server/grpc/server.h"
#include "tests/testing/stderr_capture.h"

namespace followgate {
namespace {

using sandbox::SandboxFault;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLinkedInToken[] = "li-echo-token-5d2c9e";
constexpr char kApiKey[] = "cs-echo-key-81f0aa";

class SecretEchoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::SandboxUpstreamsOptions upstream_options;
    upstream_options.linkedin.access_token = kLinkedInToken;
    upstream_options.linkedin.pages = {{42, 10, 0}};
    upstream_options.connectsafely.api_key = kApiKey;
    auto upstreams = sandbox::SandboxUpstreams::Start(upstream_options);
    ASSERT_TRUE(upstreams.ok()) << upstreams.status();
    upstreams_ = *std::move(upstreams);

    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.state_dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options.linkedin.base_url = upstreams_->base_url();
    options.linkedin.access_token = kLinkedInToken;
    options.linkedin_min_interval = absl::ZeroDuration();
    options.connectsafely.base_url = upstreams_->base_url();
    options.connectsafely.api_key = kApiKey;
    auto server = FollowgateServer::BuildAndStart(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    follows_ = v1::FollowsService::NewStub(channel);
    invitations_ = v1::InvitationsService::NewStub(channel);
  }

  grpc::Status StreamFollowers() {
    grpc::ClientContext context;
    v1::StreamFollowersRequest request;
    request.set_followee("urn:li:organizationalPage:42");
    request.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
    auto reader = follows_->StreamFollowers(&context, request);
    v1::FollowerPage page;
    while (reader->Read(&page)) {
    }
    return reader->Finish();
  }

  grpc::Status SendInvitations() {
    grpc::ClientContext context;
    v1::SendInvitationsRequest request;
    request.set_company_id("105672170");
    request.add_profile_urns("urn:li:fsd_profile:ACoAAB1");
    auto reader = invitations_->SendInvitations(&context, request);
    v1::SendInvitationsResponse response;
    while (reader->Read(&response)) {
      for (const auto& result : response.results()) {
        EXPECT_THAT(result.reason(), Not(HasSubstr(kApiKey)));
      }
    }
    return reader->Finish();
  }

  std::unique_ptr<sandbox::SandboxUpstreams> upstreams_;
  std::unique_ptr<FollowgateServer> server_;
  std::unique_ptr<v1::FollowsService::Stub> follows_;
  std::unique_ptr<v1::InvitationsService::Stub> invitations_;
};

// Checks that neither credential is anywhere in what the caller received:
// the message, and the serialized google.rpc.Status (every detail).
void ExpectNoSecretIn(const grpc::Status& status) {
  for (const std::string secret : {kLinkedInToken, kApiKey}) {
    EXPECT_THAT(status.error_message(), Not(HasSubstr(secret)));
    EXPECT_THAT(status.error_details(), Not(HasSubstr(secret)));
  }
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc.message(), status.error_message());
  EXPECT_GE(rpc.details_size(), 1);
}

TEST_F(SecretEchoTest, LinkedInUnauthorizedBodyEchoingTheTokenReachesNoCallerAndNoLog) {
  upstreams_->linkedin().AddFaults({SandboxFault::EchoCredentials(401)});
  testing::StderrCapture log;
  const grpc::Status status = StreamFollowers();
  server_.reset();
  const std::string lines = log.Stop();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The upstream's own words are still quoted, without the credential.
  EXPECT_THAT(status.error_message(),
              HasSubstr("bad token Bearer [REDACTED] (credential: [REDACTED])"));
  ExpectNoSecretIn(status);
  EXPECT_THAT(lines, HasSubstr("[REDACTED]"));
  EXPECT_THAT(lines, Not(HasSubstr(kLinkedInToken)));
}

TEST_F(SecretEchoTest,
       ConnectSafelyUnauthorizedAndBadRequestBodiesEchoingTheKeyReachNoCallerAndNoLog) {
  upstreams_->connectsafely().AddFaults({SandboxFault::EchoCredentials(401)});
  testing::StderrCapture log;
  const grpc::Status unauthorized = SendInvitations();
  upstreams_->connectsafely().AddFaults({SandboxFault::EchoCredentials(400)});
  const grpc::Status bad_request = SendInvitations();
  server_.reset();
  const std::string lines = log.Stop();
  EXPECT_EQ(unauthorized.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unauthorized.error_message(),
              HasSubstr("bad token Bearer [REDACTED] (credential: [REDACTED])"));
  ExpectNoSecretIn(unauthorized);
  EXPECT_EQ(bad_request.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_request.error_message(), HasSubstr("(credential: [REDACTED])"));
  ExpectNoSecretIn(bad_request);
  EXPECT_THAT(lines, HasSubstr("[REDACTED]"));
  EXPECT_THAT(lines, Not(HasSubstr(kApiKey)));
}

}  // namespace
}  // namespace followgate
