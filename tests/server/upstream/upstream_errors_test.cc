#include "server/upstream/upstream_errors.h"

#include <utility>

#include "gmock/gmock.h"
#include "server/base/error_details.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

struct Row {
  int http_status;
  absl::StatusCode code;
  RetryAdvice retry;
};

TEST(LinkedInHttpError, MapsEveryDocumentedStatus) {
  const Row rows[] = {
      {400, absl::StatusCode::kInvalidArgument, RetryAdvice::kDoNotRetry},
      {401, absl::StatusCode::kUnauthenticated, RetryAdvice::kDoNotRetry},
      {403, absl::StatusCode::kPermissionDenied, RetryAdvice::kDoNotRetry},
      {404, absl::StatusCode::kNotFound, RetryAdvice::kDoNotRetry},
      {426, absl::StatusCode::kFailedPrecondition, RetryAdvice::kDoNotRetry},
      {429, absl::StatusCode::kResourceExhausted, RetryAdvice::kRetryAfterInterval},
      {500, absl::StatusCode::kUnavailable, RetryAdvice::kRetryAfterBackoff},
      {503, absl::StatusCode::kUnavailable, RetryAdvice::kRetryAfterBackoff},
      {504, absl::StatusCode::kUnavailable, RetryAdvice::kRetryAfterBackoff},
      {409, absl::StatusCode::kFailedPrecondition, RetryAdvice::kDoNotRetry},
      {302, absl::StatusCode::kFailedPrecondition, RetryAdvice::kDoNotRetry},
  };
  for (const Row& row : rows) {
    const absl::Status status = LinkedInHttpError(row.http_status, "");
    EXPECT_THAT(status, StatusIs(row.code, HasSubstr(std::to_string(row.http_status))))
        << row.http_status;
    EXPECT_EQ(RetryAdviceOf(status), row.retry) << row.http_status;
  }
}

TEST(LinkedInHttpError, QuotesLinkedInsCodeAndMessage) {
  EXPECT_THAT(
      LinkedInHttpError(429, R"({"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS",)"
                             R"("message":"Resource level throttle limit for calls to this resource is reached."})"),
      StatusIs(absl::StatusCode::kResourceExhausted,
               HasSubstr("TOO_MANY_REQUESTS: Resource level throttle limit")));
  EXPECT_THAT(LinkedInHttpError(404, R"({"message":"Could not find entity"})"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Could not find entity")));
  EXPECT_THAT(LinkedInHttpError(426, "<html>not json</html>"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--linkedin_version")));
}

TEST(LinkedInTransportError, MapsTransportCodes) {
  EXPECT_THAT(LinkedInTransportError(absl::DeadlineExceededError("t")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(LinkedInTransportError(absl::CancelledError("c")),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(RetryAdviceOf(LinkedInTransportError(absl::CancelledError("c"))),
            RetryAdvice::kDoNotRetry);
  EXPECT_THAT(LinkedInTransportError(absl::InternalError("bad url")),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(LinkedInTransportError, AnswerTooLargeIsFailedPreconditionWithItsReasonAndNotRetried) {
  const absl::Status status =
      LinkedInTransportError(absl::OutOfRangeError("response body larger than the limit"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("response body larger than the limit")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_ANSWER_TOO_LARGE");
  EXPECT_EQ(RetryAdviceOf(status), RetryAdvice::kDoNotRetry);
}

TEST(ConnectSafelyTransportError, AnswerTooLargeLeavesTheOutcomeUnknown) {
  const ConnectSafelyError error =
      ConnectSafelyTransportError(absl::OutOfRangeError("response body larger than the limit"));
  EXPECT_EQ(error.disposition, SendDisposition::kAmbiguous);
  EXPECT_THAT(error.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ErrorReason(error.status), "CONNECTSAFELY_OUTCOME_UNKNOWN");
}

TEST(LinkedInContractError, EachBreachIsFailedPreconditionWithItsReasonAndNotRetried) {
  const std::pair<LinkedInContractBreach, const char*> cases[] = {
      {LinkedInContractBreach::kInvalidPage, "LINKEDIN_INVALID_PAGE"},
      {LinkedInContractBreach::kPageTooLarge, "LINKEDIN_PAGE_TOO_LARGE"},
      {LinkedInContractBreach::kCursorRepeated, "LINKEDIN_CURSOR_REPEATED"},
      {LinkedInContractBreach::kSequenceTooLong, "LINKEDIN_SEQUENCE_TOO_LONG"},
  };
  for (const auto& [breach, reason] : cases) {
    const absl::Status status = LinkedInContractError(breach, "the why");
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 HasSubstr("LinkedIn answered 2xx but the why: ")));
    EXPECT_EQ(ErrorReason(status), reason);
    EXPECT_EQ(RetryAdviceOf(status), RetryAdvice::kDoNotRetry);
  }
}

TEST(RetryAfterHeader, ReadsSecondsDatesAndResetsNeverNegativeAndCapped) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const absl::Duration cap = absl::Hours(2);
  EXPECT_EQ(RetryAfterHeader("30", "", now, cap), absl::Seconds(30));
  EXPECT_EQ(RetryAfterHeader("Tue, 14 Nov 2023 22:13:27 GMT", "", now, cap), absl::Seconds(7));
  EXPECT_EQ(RetryAfterHeader("Tue, 14 Nov 2023 22:13:00 GMT", "", now, cap),
            absl::ZeroDuration());  // In the past.
  EXPECT_EQ(RetryAfterHeader("", "1700000060", now, cap), absl::Seconds(60));
  EXPECT_EQ(RetryAfterHeader("", "12", now, cap), absl::Seconds(12));
  EXPECT_EQ(RetryAfterHeader("99999999", "", now, cap), cap);
  EXPECT_EQ(RetryAfterHeader("99999999999999999999", "", now, cap), std::nullopt);
  EXPECT_EQ(RetryAfterHeader("-5", "", now, cap), std::nullopt);
  EXPECT_EQ(RetryAfterHeader("+5", "", now, cap), std::nullopt);
  EXPECT_EQ(RetryAfterHeader("", "-5", now, cap), std::nullopt);
  EXPECT_EQ(RetryAfterHeader("soon", "", now, cap), std::nullopt);
  EXPECT_EQ(RetryAfterHeader("", "", now, cap), std::nullopt);
}

TEST(RetryAdviceOf, OtherStatusesAreNotRetried) {
  EXPECT_EQ(RetryAdviceOf(absl::UnavailableError("x")), RetryAdvice::kDoNotRetry);
  EXPECT_EQ(RetryAdviceOf(absl::OkStatus()), RetryAdvice::kDoNotRetry);
}

}  // namespace
}  // namespace followgate
