#include "server/secrets.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string WriteTemp(const std::string& name, const std::string& contents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << contents;
  return path;
}

TEST(ReadSecret, ReadsAndTrimsAFile) {
  const std::string path = WriteTemp("token", "  abc.def-123\n");
  auto secret = ReadSecret(path, "FOLLOWGATE_TEST_UNSET_VAR");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "abc.def-123");
}

TEST(ReadSecret, FallsBackToTheEnvironment) {
  setenv("FOLLOWGATE_TEST_SECRET", "from-env\n", 1);
  auto secret = ReadSecret("", "FOLLOWGATE_TEST_SECRET");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "from-env");
}

TEST(ReadSecret, NeitherIsNotFound) {
  unsetenv("FOLLOWGATE_TEST_UNSET_VAR");
  EXPECT_THAT(ReadSecret("", "FOLLOWGATE_TEST_UNSET_VAR"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("FOLLOWGATE_TEST_UNSET_VAR")));
  EXPECT_THAT(ReadSecret(WriteTemp("empty", "\n"), "X"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ReadSecret, UnreadableFileIsInvalidArgumentNamingIt) {
  EXPECT_THAT(ReadSecret("/nonexistent/token", "X"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/token")));
}

TEST(ReadSecret, ControlCharactersAreRejectedWithoutEchoingTheSecret) {
  const std::string path = WriteTemp("two_lines", "secret-one\nsecret-two\n");
  auto secret = ReadSecret(path, "X");
  EXPECT_THAT(secret, StatusIs(absl::StatusCode::kInvalidArgument,
                               Not(HasSubstr("secret-one"))));
}

}  // namespace
}  // namespace followgate
