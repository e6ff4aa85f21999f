#include "server/urn.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ValidateFolloweeUrn, AcceptsOnlyOrganizationalPagesWithDigits) {
  EXPECT_THAT(ValidateFolloweeUrn("followee", "urn:li:organizationalPage:123"), IsOk());
  for (const char* bad : {"urn:li:organizationalPage:", "urn:li:organizationalPage:12a",
                          "urn:li:organization:123", "urn:li:person:abc",
                          "urn:li:organizationalPage:-1", " urn:li:organizationalPage:1"}) {
    EXPECT_THAT(ValidateFolloweeUrn("followee", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("followee must be urn:li:organizationalPage:{digits}")))
        << bad;
  }
}

TEST(ValidateFolloweeUrn, EmptyIsReportedAsRequired) {
  EXPECT_THAT(ValidateFolloweeUrn("followee", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("followee is required")));
}

TEST(ValidateFolloweeUrn, LongValuesAreRejectedAndQuotedShort) {
  const std::string long_urn = "urn:li:organizationalPage:" + std::string(300, '1');
  const absl::Status status = ValidateFolloweeUrn("followee", long_urn);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("...")));
  EXPECT_LT(status.message().size(), 200u);
}

TEST(ValidateFollowerUrn, AcceptsPersonsAndPages) {
  for (const char* good : {"urn:li:person:-f_Ut43FoQ", "urn:li:person:szIhq",
                           "urn:li:person:a+b/c=", "urn:li:organizationalPage:9"}) {
    EXPECT_THAT(ValidateFollowerUrn("follower", good), IsOk()) << good;
  }
  for (const char* bad : {"urn:li:person:", "urn:li:person:a b", "urn:li:person:a:b",
                          "urn:li:fsd_profile:ACoA", "urn:li:organizationalPage:x"}) {
    EXPECT_THAT(ValidateFollowerUrn("follower", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("follower must be urn:li:person:{id} or "
                                   "urn:li:organizationalPage:{digits}")))
        << bad;
  }
}

TEST(ClassifyFollower, TellsConsentedMembersFromObfuscatedOnes) {
  EXPECT_EQ(ClassifyFollower("urn:li:person:-f_Ut43FoQ"), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_EQ(ClassifyFollower("urn:li:person:WIOb"), v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(ClassifyFollower("urn:li:person:abcdefghi+"), v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(ClassifyFollower("urn:li:person:abcdefghijk"),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(ClassifyFollower("urn:li:organizationalPage:1"),
            v1::FOLLOWER_KIND_ORGANIZATIONAL_PAGE);
  EXPECT_EQ(ClassifyFollower("urn:li:company:1"), v1::FOLLOWER_KIND_UNSPECIFIED);
}

}  // namespace
}  // namespace followgate
