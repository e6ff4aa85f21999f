#include "server/base/redaction.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Redact, ReplacesEveryRegisteredSecretWherePresent) {
  RegisterSecret("linkedin-token-4a7f");
  RegisterSecret("  cs-key-0b9e1c2d\n");  // Trimmed as ReadSecret trims.
  EXPECT_EQ(Redact("a linkedin-token-4a7f and cs-key-0b9e1c2d, twice: linkedin-token-4a7f"),
            "a [REDACTED] and [REDACTED], twice: [REDACTED]");
}

TEST(Redact, LeavesTextWithoutSecretsAsItIs) {
  EXPECT_EQ(Redact("LinkedIn answered HTTP 404: NOT_FOUND"),
            "LinkedIn answered HTTP 404: NOT_FOUND");
  EXPECT_EQ(Redact(""), "");
}

TEST(Redact, CoversThePercentEncodedAndJsonEscapedForms) {
  RegisterSecret("tok/en+with=\"odd\"\\chars");
  EXPECT_EQ(Redact("q=tok%2Fen%2Bwith%3D%22odd%22%5Cchars"), "q=[REDACTED]");
  EXPECT_EQ(Redact("q=tok%2fen%2bwith%3d%22odd%22%5cchars"), "q=[REDACTED]");
  EXPECT_EQ(Redact(R"({"t":"tok/en+with=\"odd\"\\chars"})"), R"({"t":"[REDACTED]"})");
  EXPECT_EQ(Redact(R"({"t":"tok\/en+with=\"odd\"\\chars"})"), R"({"t":"[REDACTED]"})");
}

TEST(Redact, CoversASecretInAStatusPayloadAsToStringPrintsIt) {
  const std::string secret = "f00d-payload-secret";  // Starts with a hex digit.
  RegisterSecret(secret);
  absl::Status status = absl::UnauthenticatedError("rejected");
  status.SetPayload("type.googleapis.com/google.rpc.ErrorInfo",
                    absl::Cord(absl::StrCat("\x12\x13", secret, "'s \"quoted\"")));
  const std::string printed = status.ToString();
  // Its leading hex digits are escaped.
  ASSERT_THAT(printed, Not(HasSubstr(secret)));
  ASSERT_THAT(printed, HasSubstr("-payload-secret"));
  EXPECT_THAT(Redact(printed), Not(HasSubstr("-payload-secret")));
  EXPECT_THAT(Redact(printed), HasSubstr("[REDACTED]"));
}

TEST(Redact, IgnoresSecretsShorterThanTheMinimum) {
  const std::string short_secret(kMinRedactedSecretLength - 1, 'q');
  RegisterSecret(short_secret);
  EXPECT_EQ(Redact(absl::StrCat("x ", short_secret)), absl::StrCat("x ", short_secret));
}

TEST(Redact, RedactsAnyBearerCredentialEvenUnregistered) {
  EXPECT_EQ(Redact("bad token Bearer never-registered-9f3"), "bad token Bearer [REDACTED]");
  EXPECT_EQ(Redact("got bearer\tabc.DEF_123-~+/== here"), "got bearer\t[REDACTED] here");
}

TEST(Redact, RedactsWhatFollowsAnAuthorizationLabel) {
  EXPECT_EQ(Redact("Authorization: Basic dXNlcjpwYXNz"), "Authorization: Basic [REDACTED]");
  EXPECT_EQ(Redact("authorization=opaque-value&x=1"), "authorization=[REDACTED]&x=1");
  EXPECT_EQ(Redact(R"({"authorization": "raw-value-77", "x": 1})"),
            R"({"authorization": "[REDACTED]", "x": 1})");
  EXPECT_EQ(Redact("AUTHORIZATION: Bearer abc"), "AUTHORIZATION: Bearer [REDACTED]");
}

TEST(Redact, KeepsPlaceholdersAndProse) {
  EXPECT_EQ(Redact("no caller token: send \"authorization: Bearer <token>\""),
            "no caller token: send \"authorization: Bearer <token>\"");
  EXPECT_EQ(Redact("the Authorization header is missing"), "the Authorization header is missing");
  EXPECT_EQ(Redact("Bearer"), "Bearer");
}

TEST(Redact, IsSafeWhileSecretsAreRegisteredConcurrently) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i] {
      for (int j = 0; j < 200; ++j) {
        const std::string secret = absl::StrCat("concurrent-secret-", i, "-", j);
        RegisterSecret(secret);
        EXPECT_THAT(Redact(absl::StrCat("x ", secret, " y")), Not(HasSubstr(secret)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace followgate
