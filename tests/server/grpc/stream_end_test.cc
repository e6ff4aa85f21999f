// How a stream's end reaches its caller: ends that retrying can fix carry
// the resume token and a RetryInfo; the others go out as they are.
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/grpc/stream_tracker.h"

namespace followgate {
namespace {

// The resume_token metadata of the status's ErrorInfo, "" when absent.
std::string TokenOf(const absl::Status& status) {
  return ErrorMetadata(status, "resume_token").value_or("");
}

TEST(WithWayOnTest, DatabaseUnavailableMidStreamCarriesTokenAndRetryInfo) {
  absl::Status database = WithRetryDelay(
      WithErrorInfo(absl::UnavailableError("database down"), "DATABASE_UNAVAILABLE"),
      absl::Seconds(1));
  const absl::Status out = WithWayOn(database, "tok-7");
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(out), "DATABASE_UNAVAILABLE");
  EXPECT_EQ(TokenOf(out), "tok-7");
  EXPECT_EQ(RetryDelay(out), absl::Seconds(1));
}

TEST(WithWayOnTest, UnavailableWithoutDelayGetsASecond) {
  const absl::Status out = WithWayOn(absl::UnavailableError("LinkedIn 503"), "tok-1");
  EXPECT_EQ(RetryDelay(out), absl::Seconds(1));
  EXPECT_EQ(TokenOf(out), "tok-1");
}

TEST(WithWayOnTest, ThrottledKeepsItsDelayAndCarriesTheToken) {
  const absl::Status throttled = WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError("429"), "LINKEDIN_THROTTLED"),
      absl::Minutes(3));
  const absl::Status out = WithWayOn(throttled, "tok-2");
  EXPECT_EQ(RetryDelay(out), absl::Minutes(3));
  EXPECT_EQ(TokenOf(out), "tok-2");
}

TEST(WithWayOnTest, StreamDurationCarriesTokenAndRetryAtOnce) {
  const absl::Status out = WithWayOn(StreamDurationStatus(absl::Minutes(50)), "tok-3");
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(out), "STREAM_DURATION");
  EXPECT_EQ(RetryDelay(out), absl::ZeroDuration());
  EXPECT_EQ(TokenOf(out), "tok-3");
}

TEST(WithWayOnTest, BeforeTheFirstPageThereIsNoToken) {
  const absl::Status out = WithWayOn(DrainingStatus(), "");
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(TokenOf(out), "");
  EXPECT_TRUE(RetryDelay(out).has_value());
}

TEST(WithWayOnTest, EndsThatRetryingCannotFixGoOutAsTheyAre) {
  for (const absl::Status& status :
       {absl::CancelledError("the caller went away"), absl::DeadlineExceededError("deadline"),
        InvalidField("followee", "bad"), absl::FailedPreconditionError("gone"),
        absl::OkStatus()}) {
    const absl::Status out = WithWayOn(status, "tok-4");
    EXPECT_EQ(out, status);
    EXPECT_EQ(TokenOf(out), "");
    EXPECT_FALSE(RetryDelay(out).has_value());
  }
}

}  // namespace
}  // namespace followgate
