#include "server/upstream_errors.h"

#include "gmock/gmock.h"
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

TEST(RetryAdviceOf, OtherStatusesAreNotRetried) {
  EXPECT_EQ(RetryAdviceOf(absl::UnavailableError("x")), RetryAdvice::kDoNotRetry);
  EXPECT_EQ(RetryAdviceOf(absl::OkStatus()), RetryAdvice::kDoNotRetry);
}

}  // namespace
}  // namespace followgate
