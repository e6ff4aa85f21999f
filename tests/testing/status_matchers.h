// gMock matchers for absl::Status and absl::StatusOr.
#ifndef FOLLOWGATE_TESTS_TESTING_STATUS_MATCHERS_H_
#define FOLLOWGATE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace followgate::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// StatusIs(code) / StatusIs(code, message_matcher), for Status and StatusOr.
MATCHER_P2(StatusIs, code, message_matcher,
           "status is " + ::testing::PrintToString(absl::StatusCode(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

MATCHER_P(StatusIs, code,
          "status is " + ::testing::PrintToString(absl::StatusCode(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code;
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "which is " << status;
  return status.ok();
}

// A StatusOr that is OK and whose value matches `matcher` (a value or a
// matcher: IsOkAndHolds(3), IsOkAndHolds(Field(&T::x, 3))).
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

}  // namespace followgate::testing

#endif  // FOLLOWGATE_TESTS_TESTING_STATUS_MATCHERS_H_
