// A fresh directory per call under the test's TEST_TMPDIR.
#ifndef FOLLOWGATE_TESTS_TESTING_TEMP_DIR_H_
#define FOLLOWGATE_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace followgate {
namespace testing {

// Creates "<TEST_TMPDIR>/<prefix>-XXXXXX" (mkdtemp) and returns its path; a
// failure fails the test.
inline std::string NewTempDir(const std::string& prefix = "dir") {
  std::string pattern = std::string(std::getenv("TEST_TMPDIR")) + "/" + prefix + "-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
  return pattern;
}

}  // namespace testing
}  // namespace followgate

#endif  // FOLLOWGATE_TESTS_TESTING_TEMP_DIR_H_
