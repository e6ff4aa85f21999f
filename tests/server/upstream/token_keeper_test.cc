// OAuth refresh and introspection (LinkedInOAuthClient) and the keeper that
// renews a token before it expires, on a fake clock against a scripted
// LinkedIn.
#include "server/upstream/token_keeper.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "client-secret-9f8e7d";
constexpr char kRefresh[] = "refresh-token-4c3b2a";
constexpr absl::Duration kLifetime = absl::Hours(60 * 24);

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status_code = status;
  response.body = std::move(body);
  return response;
}

class TokenKeeperTest : public ::testing::Test {
 protected:
  TokenKeeperTest() : http_(&clock_) {
    LinkedInOAuthOptions options;
    options.base_url = "http://oauth";
    options.client_id = "app-1";
    options.client_secret = SecretSource::Fixed(kSecret);
    options.credential = "acme";
    oauth_ = std::make_unique<LinkedInOAuthClient>(&http_, &clock_, options);
    state_file_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                               ".json");
    std::remove(state_file_.c_str());
    // A LinkedIn that grants access-<n> for 60 days to kRefresh.
    http_.SetHandler([this](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
      if (absl::EndsWith(request.url, "/oauth/v2/introspectToken")) {
        return Json(200, absl::StrCat(R"({"active":true,"expires_at":)", introspected_expiry_.load(),
                                      "}"));
      }
      if (refuse_) return Json(400, R"({"error":"invalid_grant"})");
      if (!absl::StrContains(request.body, absl::StrCat("refresh_token=", refresh_accepted_))) {
        return Json(400, R"({"error":"invalid_grant"})");
      }
      return Json(200, absl::StrCat(R"({"access_token":"access-)", ++issued_,
                                    R"(-0123456789","expires_in":)",
                                    absl::ToInt64Seconds(kLifetime),
                                    R"(,"refresh_token":")", refresh_accepted_,
                                    R"(","refresh_token_expires_in":31536000})"));
    });
  }

  std::unique_ptr<TokenKeeper> Keeper(const std::string& refresh_token,
                                      bool keep_state = true) {
    TokenKeeperOptions options;
    options.credential = "acme";
    options.refresh_token = refresh_token;
    if (keep_state) options.state = FileStateBlob(state_file_);
    return std::make_unique<TokenKeeper>(oauth_.get(), access_, &clock_, options);
  }

  FakeClock clock_;
  FakeHttpClient http_;
  std::unique_ptr<LinkedInOAuthClient> oauth_;
  std::shared_ptr<SecretSource> access_ = SecretSource::Fixed("initial-access-token");
  std::string state_file_;
  std::string refresh_accepted_ = kRefresh;
  std::atomic<bool> refuse_{false};
  std::atomic<int> issued_{0};
  std::atomic<int64_t> introspected_expiry_{0};
};

TEST_F(TokenKeeperTest, RefreshFormsTheRequestAsLinkedInDocumentsIt) {
  refresh_accepted_ = "a%20refresh%2Ftoken%2B%3D";  // As the form carries it.
  auto tokens = oauth_->Refresh("a refresh/token+=");
  ASSERT_THAT(tokens.status(), IsOk());
  EXPECT_EQ(tokens->access_token, "access-1-0123456789");
  EXPECT_EQ(tokens->expires_at, clock_.Now() + kLifetime);
  EXPECT_EQ(tokens->refresh_token_expires_at, clock_.Now() + absl::Seconds(31536000));
  const HttpRequest sent = http_.sent().at(0).request;
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "http://oauth/oauth/v2/accessToken");
  EXPECT_EQ(sent.body,
            "grant_type=refresh_token&refresh_token=a%20refresh%2Ftoken%2B%3D&client_id=app-1"
            "&client_secret=client-secret-9f8e7d");
  EXPECT_EQ(sent.upstream, "linkedin_oauth");
}

TEST_F(TokenKeeperTest, RefusedRefreshIsUnauthenticatedNamingTheCredentialNeverTheSecrets) {
  refuse_ = true;
  const absl::Status refused = oauth_->Refresh(kRefresh).status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated,
                                HasSubstr("LinkedIn credential \"acme\"")));
  EXPECT_THAT(refused.message(), HasSubstr("authorize the application again"));
  EXPECT_THAT(refused.message(), Not(HasSubstr(kRefresh)));
  EXPECT_THAT(refused.message(), Not(HasSubstr(kSecret)));
  EXPECT_EQ(ErrorReason(refused).value_or(""), "LINKEDIN_REFRESH_REJECTED");
  http_.SetHandler([](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    return Json(503, "<html>busy</html>");
  });
  const absl::Status busy = oauth_->Refresh(kRefresh).status();
  EXPECT_THAT(busy, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(RetryDelay(busy).has_value());
}

TEST_F(TokenKeeperTest, RefreshesAtOnceWhenTheExpiryIsUnknownThenAWeekBeforeItExpires) {
  auto keeper = Keeper(kRefresh);
  ASSERT_THAT(keeper->Start(), IsOk());
  keeper->AwaitRounds(1);
  EXPECT_EQ(access_->Current().secret, "access-1-0123456789");
  EXPECT_EQ(keeper->expires_at(), clock_.Now() + kLifetime);
  clock_.BlockUntilWaiters(1);  // Asleep until it is due.
  clock_.Advance(kLifetime - absl::Hours(7 * 24) - absl::Seconds(1));
  clock_.BlockUntilWaiters(1);
  EXPECT_EQ(keeper->successes(), 1);
  EXPECT_EQ(http_.sent().size(), 1u);
  clock_.Advance(absl::Seconds(1));
  keeper->AwaitRounds(2);
  EXPECT_EQ(access_->Current().secret, "access-2-0123456789");
  EXPECT_EQ(access_->Current().generation, 2);
}

TEST_F(TokenKeeperTest, ATokenLinkedInRejectsIsRefreshedAtOnce) {
  auto keeper = Keeper(kRefresh, /*keep_state=*/false);
  ASSERT_THAT(keeper->Start(), IsOk());
  keeper->AwaitRounds(1);
  clock_.BlockUntilWaiters(1);  // Weeks from its next refresh.
  keeper->Rejected();           // A 401 (revoked by an admin, say).
  keeper->AwaitRounds(2);
  EXPECT_EQ(access_->Current().secret, "access-2-0123456789");
}

TEST_F(TokenKeeperTest, StoredTokensOutliveARestartUnlessAnotherRefreshTokenIsGiven) {
  {
    auto keeper = Keeper(kRefresh);
    ASSERT_THAT(keeper->Start(), IsOk());
    keeper->AwaitRounds(1);
  }
  struct stat info;
  ASSERT_EQ(stat(state_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  access_ = SecretSource::Fixed("initial-access-token");  // As the token file says.
  {
    auto restarted = Keeper(kRefresh);
    ASSERT_THAT(restarted->Start(), IsOk());
    clock_.BlockUntilWaiters(1);
    EXPECT_EQ(access_->Current().secret, "access-1-0123456789");  // The stored one.
    EXPECT_EQ(restarted->expires_at(), clock_.Now() + kLifetime);
    EXPECT_EQ(http_.sent().size(), 1u);  // No refresh needed.
  }
  // The operator gave a new refresh token (a page admin consented again).
  refresh_accepted_ = "another-refresh-token-77";
  auto renewed = Keeper("another-refresh-token-77");
  ASSERT_THAT(renewed->Start(), IsOk());
  renewed->AwaitRounds(1);
  EXPECT_EQ(access_->Current().secret, "access-2-0123456789");
}

TEST_F(TokenKeeperTest, ReplicasSharingTheStateRefreshOnceAndTakeEachOthersTokens) {
  auto first = Keeper(kRefresh);
  ASSERT_THAT(first->Start(), IsOk());
  first->AwaitRounds(1);
  // A second replica, sharing the state, starts with the stored tokens...
  auto second_access = SecretSource::Fixed("second-replica-token");
  TokenKeeperOptions options;
  options.credential = "acme";
  options.refresh_token = kRefresh;
  options.state = FileStateBlob(state_file_);
  options.refresh_margin = absl::Hours(6 * 24);  // ...and comes due a day after the first.
  TokenKeeper second(oauth_.get(), second_access, &clock_, options);
  ASSERT_THAT(second.Start(), IsOk());
  clock_.BlockUntilWaiters(2);
  EXPECT_EQ(second_access->Current().secret, "access-1-0123456789");
  EXPECT_EQ(http_.sent().size(), 1u);
  clock_.Advance(kLifetime - absl::Hours(7 * 24));
  first->AwaitRounds(2);  // The first refreshes and stores access-2.
  clock_.BlockUntilWaiters(2);
  clock_.Advance(absl::Hours(24));
  second.AwaitRounds(1);  // The second finds it and takes it.
  EXPECT_EQ(second_access->Current().secret, "access-2-0123456789");
  EXPECT_EQ(http_.sent().size(), 2u);
}

TEST_F(TokenKeeperTest, RefusedRefreshKeepsTheTokenAndIsTriedAgainWithBackoff) {
  refuse_ = true;
  auto keeper = Keeper(kRefresh, /*keep_state=*/false);
  ASSERT_THAT(keeper->Start(), IsOk());
  keeper->AwaitRounds(1);
  EXPECT_EQ(keeper->failures(), 1);
  EXPECT_EQ(access_->Current().secret, "initial-access-token");
  clock_.BlockUntilWaiters(1);
  clock_.Advance(absl::Minutes(1));
  keeper->AwaitRounds(2);
  EXPECT_EQ(keeper->failures(), 2);
  refuse_ = false;
  clock_.BlockUntilWaiters(1);
  clock_.Advance(absl::Minutes(1));  // Not yet: the wait doubled.
  clock_.BlockUntilWaiters(1);
  EXPECT_EQ(keeper->successes() + keeper->failures(), 2);
  clock_.Advance(absl::Minutes(1));
  keeper->AwaitRounds(3);
  EXPECT_EQ(keeper->successes(), 1);
  EXPECT_EQ(access_->Current().secret, "access-1-0123456789");
}

TEST_F(TokenKeeperTest, WithoutARefreshTokenTheExpiryComesFromIntrospection) {
  introspected_expiry_ = absl::ToUnixSeconds(clock_.Now() + absl::Hours(100));
  auto keeper = Keeper("");
  ASSERT_THAT(keeper->Start(), IsOk());
  keeper->AwaitRounds(1);
  EXPECT_EQ(keeper->expires_at(), absl::FromUnixSeconds(introspected_expiry_.load()));
  EXPECT_EQ(access_->Current().secret, "initial-access-token");  // Never replaced.
  // A rotated token is asked about within a minute.
  introspected_expiry_ = introspected_expiry_.load() + 3600;
  access_->Set("rotated-access-token");
  clock_.BlockUntilWaiters(1);
  clock_.Advance(absl::Minutes(1));
  keeper->AwaitRounds(2);
  EXPECT_EQ(keeper->expires_at(), absl::FromUnixSeconds(introspected_expiry_.load()));
  EXPECT_THAT(http_.sent().back().request.body, HasSubstr("token=rotated-access-token"));
}

}  // namespace
}  // namespace followgate
