#include "server/base/secrets.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/redaction.h"
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

TEST(ReadSecret, DirectoryIsInvalidArgumentSayingSo) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/token_dir";
  mkdir(dir.c_str(), 0700);
  EXPECT_THAT(ReadSecret(dir, "FOLLOWGATE_TEST_UNSET_VAR"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("secret file ", dir, " is a directory"))));
}

TEST(ReadFlagFile, DirectoryIsInvalidArgumentNamingTheFlag) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/cert_dir";
  mkdir(dir.c_str(), 0700);
  EXPECT_THAT(ReadFlagFile(dir, "tls_cert_file"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("--tls_cert_file ", dir, " is a directory"))));
  EXPECT_THAT(ReadFlagFile("/nonexistent/cert.pem", "tls_cert_file"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cannot read --tls_cert_file /nonexistent/cert.pem")));
}

TEST(ReadSecret, WhatItReadsIsRedactedFromThenOn) {
  auto from_file = ReadSecret(WriteTemp("registered", "file-secret-0f3a9\n"), "X");
  ASSERT_TRUE(from_file.ok());
  setenv("FOLLOWGATE_TEST_REGISTERED", "env-secret-77c1d", 1);
  auto from_env = ReadSecret("", "FOLLOWGATE_TEST_REGISTERED");
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(Redact(absl::StrCat("a ", *from_file, " b ", *from_env)),
            "a [REDACTED] b [REDACTED]");
}

}  // namespace
}  // namespace followgate
