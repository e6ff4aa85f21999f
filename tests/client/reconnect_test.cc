#include "client/reconnect.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace followgate::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(IsRetryable, OnlyUnavailableIsRetried) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable, "Socket closed"));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable, "the server is shutting down"));
  for (absl::StatusCode code :
       {absl::StatusCode::kResourceExhausted, absl::StatusCode::kInvalidArgument,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kCancelled, absl::StatusCode::kInternal,
        absl::StatusCode::kUnknown, absl::StatusCode::kNotFound}) {
    EXPECT_FALSE(IsRetryable(code, "x")) << absl::StatusCodeToString(code);
  }
}

TEST(IsRetryable, TlsMismatchIsNotRetried) {
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kUnavailable,
                           "failed to connect to all addresses; last error: UNKNOWN: "
                           "ipv4:127.0.0.1:4: Ssl handshake failed: SSL_ERROR_SSL: "
                           "error:1000007d:SSL routines:OPENSSL_internal:"
                           "CERTIFICATE_VERIFY_FAILED"));
}

TEST(Reconnector, WaitsTheRetryInfoDelayWhenGiven) {
  Reconnector reconnector(BackoffPolicy(), [] { return 0.99; }, absl::InfiniteFuture());
  EXPECT_EQ(reconnector.NextDelay(absl::Milliseconds(1500), kNow), absl::Milliseconds(1500));
  EXPECT_EQ(reconnector.NextDelay(absl::ZeroDuration(), kNow), absl::ZeroDuration());
  EXPECT_EQ(reconnector.reconnects(), 2);
}

TEST(Reconnector, BacksOffExponentiallyWithJitterUpToTheCap) {
  BackoffPolicy policy;
  policy.initial = absl::Seconds(1);
  policy.multiplier = 2;
  policy.jitter = 0.5;
  policy.max = absl::Seconds(5);
  double draw = 0.5;  // Factor 1: no jitter.
  Reconnector reconnector(policy, [&draw] { return draw; }, absl::InfiniteFuture());
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(1));
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(2));
  draw = 0;  // Factor 0.5.
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(2));
  draw = 0.5;
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(5));  // 8 s, capped.
  draw = 0.99;  // Never beyond the cap, even with jitter.
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(5));
}

TEST(Reconnector, ProgressStartsTheBackoffAgain) {
  BackoffPolicy policy;
  policy.jitter = 0;
  policy.multiplier = 2;
  Reconnector reconnector(policy, [] { return 0.5; }, absl::InfiniteFuture());
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(1));
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(2));
  reconnector.OnProgress();
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(1));
  EXPECT_EQ(reconnector.reconnects(), 3);  // Counted over the whole run.
}

TEST(Reconnector, GivesUpWhenTheDeadlineComesBeforeTheNextAttempt) {
  BackoffPolicy policy;
  policy.jitter = 0;
  Reconnector reconnector(policy, [] { return 0.5; }, kNow + absl::Seconds(3));
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow), absl::Seconds(1));
  EXPECT_EQ(reconnector.NextDelay(absl::Seconds(3), kNow), std::nullopt);
  EXPECT_EQ(reconnector.NextDelay(std::nullopt, kNow + absl::Seconds(2)), std::nullopt);
  EXPECT_EQ(reconnector.reconnects(), 1);
}

constexpr char kClosed[] =
    "failed to connect to all addresses; last error: UNAVAILABLE: "
    "ipv4:127.0.0.1:36421: Socket closed";

TEST(Reconnector, GivesUpAfterThreeConnectionsClosedBeforeAnyAnswer) {
  Reconnector reconnector(BackoffPolicy(), [] { return 0.5; }, absl::InfiniteFuture());
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_TRUE(reconnector.RefusedEveryConnection(kClosed));
}

TEST(Reconnector, ConnectionsClosedAfterAnAnswerAreAServerGoingAwayNotARefusal) {
  Reconnector reconnector(BackoffPolicy(), [] { return 0.5; }, absl::InfiniteFuture());
  reconnector.OnAnswer();
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
}

TEST(Reconnector, AnotherFailureInBetweenStartsTheCountOfClosedConnectionsAgain) {
  Reconnector reconnector(BackoffPolicy(), [] { return 0.5; }, absl::InfiniteFuture());
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_FALSE(reconnector.RefusedEveryConnection(
      "failed to connect to all addresses; last error: Connection refused"));
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_FALSE(reconnector.RefusedEveryConnection(kClosed));
  EXPECT_TRUE(reconnector.RefusedEveryConnection(kClosed));
}

}  // namespace
}  // namespace followgate::cli
