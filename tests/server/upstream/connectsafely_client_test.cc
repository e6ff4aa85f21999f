// The ConnectSafely adapter over real libcurl against the sandbox's
// ConnectSafely emulation on 127.0.0.1:0: every outcome path.
#include "server/upstream/connectsafely_client.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/upstream/curl_http_client.h"
#include "server/sandbox/sandbox_upstreams.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using sandbox::SandboxFault;

constexpr char kCompany[] = "105672170";

class ConnectSafelyClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::SandboxUpstreamsOptions options;
    auto upstreams = sandbox::SandboxUpstreams::Start(options);
    ASSERT_TRUE(upstreams.ok()) << upstreams.status();
    upstreams_ = *std::move(upstreams);
    client_ = MakeClient(options.connectsafely.api_key);
  }

  std::unique_ptr<ConnectSafelyClient> MakeClient(const std::string& key) {
    ConnectSafelyClientOptions options;
    options.base_url = upstreams_->base_url();
    options.api_key = key;
    options.request_timeout = absl::Seconds(2);
    return std::make_unique<ConnectSafelyClient>(&http_, Clock::Real(), options);
  }

  CurlHttpClient http_;
  std::unique_ptr<sandbox::SandboxUpstreams> upstreams_;
  std::unique_ptr<ConnectSafelyClient> client_;
};

TEST_F(ConnectSafelyClientTest, AnswersPerProfileAndRemembersInvitations) {
  const std::vector<std::string> urns = {"urn:li:fsd_profile:ACoA1", "urn:li:fsd_profile:ACoA2NC"};
  InviteAnswer first = client_->SendInvitations(kCompany, "", urns);
  ASSERT_EQ(first.disposition, SendDisposition::kAnswered) << first.status;
  ASSERT_EQ(first.results.size(), 2u);
  EXPECT_TRUE(first.results[0].success);
  EXPECT_EQ(first.results[0].status, "SENT");
  EXPECT_FALSE(first.results[1].success);
  EXPECT_THAT(first.results[1].error, HasSubstr("1st-degree"));
  InviteAnswer second = client_->SendInvitations(kCompany, "acct", {urns[0]});
  ASSERT_EQ(second.disposition, SendDisposition::kAnswered);
  EXPECT_EQ(second.results[0].status, "ALREADY_INVITED");
  EXPECT_EQ(upstreams_->connectsafely().ReceiveCount(105672170, urns[0]), 2);
}

TEST_F(ConnectSafelyClientTest, WrongKeyIsRejectedAsUnauthenticated) {
  auto wrong = MakeClient("not-the-key");
  InviteAnswer answer = wrong->SendInvitations(kCompany, "", {"urn:li:fsd_profile:A"});
  EXPECT_EQ(answer.disposition, SendDisposition::kRejected);
  EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kUnauthenticated,
                                      HasSubstr("Unauthorized - Invalid credentials")));
  EXPECT_THAT(std::string(answer.status.message()), ::testing::Not(HasSubstr("not-the-key")));
}

TEST_F(ConnectSafelyClientTest, CompanyWithoutSuperAdminIsPermissionDenied) {
  InviteAnswer answer = client_->SendInvitations("42", "", {"urn:li:fsd_profile:A"});
  EXPECT_EQ(answer.disposition, SendDisposition::kRejected);
  EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kPermissionDenied,
                                      HasSubstr("Super Admin")));
}

TEST_F(ConnectSafelyClientTest, MoreThanFiftyIsRejectedAsInvalidArgument) {
  std::vector<std::string> urns;
  for (int i = 0; i < 51; ++i) urns.push_back("urn:li:fsd_profile:P" + std::to_string(i));
  InviteAnswer answer = client_->SendInvitations(kCompany, "", urns);
  EXPECT_EQ(answer.disposition, SendDisposition::kRejected);
  EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectSafelyClientTest, ThrottledAnswerCarriesTheRetryDelay) {
  upstreams_->connectsafely().AddFaults({SandboxFault::Status(429)});
  InviteAnswer answer = client_->SendInvitations(kCompany, "", {"urn:li:fsd_profile:A"});
  EXPECT_EQ(answer.disposition, SendDisposition::kThrottled);
  EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_GE(answer.retry_after, absl::Seconds(1));
  EXPECT_FALSE(upstreams_->connectsafely().WasInvited(105672170, "urn:li:fsd_profile:A"));
}

TEST_F(ConnectSafelyClientTest, ServerErrorLostAnswerResetAndTimeoutAreAmbiguous) {
  upstreams_->connectsafely().AddFaults({SandboxFault::Status(500), SandboxFault::Lost(),
                                         SandboxFault::Reset(),
                                         SandboxFault::Slow(absl::Seconds(5))});
  for (int i = 0; i < 4; ++i) {
    InviteAnswer answer =
        client_->SendInvitations(kCompany, "", {"urn:li:fsd_profile:X" + std::to_string(i)});
    EXPECT_EQ(answer.disposition, SendDisposition::kAmbiguous) << i << ": " << answer.status;
    EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kUnavailable)) << i;
  }
  // The lost and the slow one were carried out although no answer came back.
  EXPECT_TRUE(upstreams_->connectsafely().WasInvited(105672170, "urn:li:fsd_profile:X1"));
  EXPECT_TRUE(upstreams_->connectsafely().WasInvited(105672170, "urn:li:fsd_profile:X3"));
}

TEST_F(ConnectSafelyClientTest, RefusedConnectionIsKnownNotSent) {
  ConnectSafelyClientOptions options;
  options.base_url = upstreams_->base_url();
  upstreams_.reset();  // Nothing listens any more.
  options.api_key = "k";
  ConnectSafelyClient client(&http_, Clock::Real(), options);
  InviteAnswer answer = client.SendInvitations(kCompany, "", {"urn:li:fsd_profile:A"});
  EXPECT_EQ(answer.disposition, SendDisposition::kNotSent);
  EXPECT_THAT(answer.status, StatusIs(absl::StatusCode::kUnavailable));
}

TEST(RetryAfter, ReadsSecondsDatesAndResetTimes) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  HttpResponse response;
  response.headers = {{"Retry-After", "30"}};
  EXPECT_EQ(RetryAfter(response, now), absl::Seconds(30));
  response.headers = {{"retry-after", "Tue, 14 Nov 2023 22:13:27 GMT"}};  // now + 7 s
  EXPECT_EQ(RetryAfter(response, now), absl::Seconds(7));
  response.headers = {{"X-RateLimit-Reset", "1700000060"}};
  EXPECT_EQ(RetryAfter(response, now), absl::Seconds(60));
  response.headers = {{"X-RateLimit-Reset", "12"}};
  EXPECT_EQ(RetryAfter(response, now), absl::Seconds(12));
  // Reported as asked: the batcher refuses a wait beyond --max_upstream_wait.
  response.headers = {{"Retry-After", "99999999"}};
  EXPECT_EQ(RetryAfter(response, now), absl::Seconds(99999999));
  response.headers = {{"Retry-After", "-5"}};
  EXPECT_EQ(RetryAfter(response, now), absl::ZeroDuration());
  response.headers = {{"Retry-After", "soon"}};
  EXPECT_EQ(RetryAfter(response, now), absl::ZeroDuration());
}

}  // namespace
}  // namespace followgate
