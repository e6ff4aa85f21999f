#include "server/grpc/caller_auth.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string CallersJson(const std::string& token, const std::string& scopes) {
  return absl::StrCat(R"({"callers":[{"name":"etl","token_sha256":")", Sha256Hex(token),
                      R"(","scopes":[)", scopes, "]}]}");
}

std::string WriteTemp(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path) << contents;
  return path;
}

TEST(Sha256Hex, MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CallerAuth, WithoutAFileEveryoneIsLetInUnderTheFallbackName) {
  auto auth = CallerAuth::Create("");
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE((*auth)->enabled());
  EXPECT_EQ(*(*auth)->Authorize("", kScopeFollowsRead, "ipv4:127.0.0.1"), "ipv4:127.0.0.1");
}

TEST(CallerAuth, KnownTokenWithTheScopeIsTheCallersName) {
  auto auth = CallerAuth::Create(WriteTemp("a.json", CallersJson("s3cret", R"("follows.read")")));
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(*(*auth)->Authorize("Bearer s3cret", kScopeFollowsRead, ""), "etl");
}

TEST(CallerAuth, MissingOrUnknownTokenIsUnauthenticated) {
  auto auth = CallerAuth::Create(WriteTemp("b.json", CallersJson("s3cret", R"("follows.read")")));
  ASSERT_TRUE(auth.ok());
  const auto missing = (*auth)->Authorize("", kScopeFollowsRead, "");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(ErrorReason(missing.status()), "CALLER_TOKEN_MISSING");
  const auto unknown = (*auth)->Authorize("Bearer guess", kScopeFollowsRead, "");
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kUnauthenticated, Not(HasSubstr("guess"))));
  EXPECT_EQ(ErrorReason(unknown.status()), "CALLER_TOKEN_UNKNOWN");
}

TEST(CallerAuth, MissingScopeIsPermissionDenied) {
  auto auth = CallerAuth::Create(WriteTemp("c.json", CallersJson("s3cret", R"("follows.read")")));
  ASSERT_TRUE(auth.ok());
  EXPECT_THAT((*auth)->Authorize("Bearer s3cret", kScopeInvitationsSend, ""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("etl lacks the scope invitations.send")));
}

TEST(CallerAuth, InvitationsSendAlsoGrantsReading) {
  auto auth =
      CallerAuth::Create(WriteTemp("d.json", CallersJson("s3cret", R"("invitations.send")")));
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE((*auth)->Authorize("Bearer s3cret", kScopeInvitationsRead, "").ok());
  EXPECT_FALSE((*auth)->Authorize("Bearer s3cret", kScopeFollowsRead, "").ok());
}

TEST(CallerAuth, ReloadPicksUpChangesAndKeepsTheOldCallersOnErrors) {
  const std::string path = WriteTemp("e.json", CallersJson("one", R"("follows.read")"));
  auto auth = CallerAuth::Create(path);
  ASSERT_TRUE(auth.ok());
  WriteTemp("e.json", CallersJson("two", R"("follows.read")"));
  ASSERT_TRUE((*auth)->Reload().ok());
  EXPECT_FALSE((*auth)->Authorize("Bearer one", kScopeFollowsRead, "").ok());
  EXPECT_TRUE((*auth)->Authorize("Bearer two", kScopeFollowsRead, "").ok());
  WriteTemp("e.json", "{not json");
  EXPECT_THAT((*auth)->Reload(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE((*auth)->Authorize("Bearer two", kScopeFollowsRead, "").ok());
}

TEST(ParseCallers, ExplainsWhatIsWrong) {
  EXPECT_THAT(ParseCallers(R"({"callers":[{"name":"x","token_sha256":"abc","scopes":[]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 hex digits")));
  EXPECT_THAT(ParseCallers(absl::StrCat(R"({"callers":[{"name":"x","token_sha256":")",
                                        std::string(64, 'a'), R"(","scopes":["admin"]}]})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown scope")));
  EXPECT_THAT(ParseCallers(R"([])"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace followgate
