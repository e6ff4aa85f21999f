#include "server/upstream/urn.h"

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

TEST(CanonicalFolloweeUrn, StripsLeadingZerosAndRefusesZeroAndIdsBeyondInt64) {
  EXPECT_EQ(*CanonicalFolloweeUrn("followee", "urn:li:organizationalPage:0777"),
            "urn:li:organizationalPage:777");
  EXPECT_EQ(*CanonicalFolloweeUrn("followee", "urn:li:organizationalPage:777"),
            "urn:li:organizationalPage:777");
  EXPECT_EQ(*CanonicalFolloweeUrn("followee", "urn:li:organizationalPage:9223372036854775807"),
            "urn:li:organizationalPage:9223372036854775807");
  EXPECT_EQ(*CanonicalFolloweeUrn("followee",
                                  "urn:li:organizationalPage:0009223372036854775807"),
            "urn:li:organizationalPage:9223372036854775807");
  for (const char* bad : {"urn:li:organizationalPage:0", "urn:li:organizationalPage:000",
                          "urn:li:organizationalPage:9223372036854775808",
                          "urn:li:organizationalPage:99999999999999999999999"}) {
    EXPECT_THAT(CanonicalFolloweeUrn("followee", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("followee must be urn:li:organizationalPage:{digits} "
                                   "({digits}: 1 to 2^63-1; at most 255 characters)")))
        << bad;
  }
}

TEST(CanonicalFollowerUrn, CanonicalisesPagesAndKeepsPersonIdsInLinkedInsAlphabet) {
  EXPECT_EQ(*CanonicalFollowerUrn("follower", "urn:li:organizationalPage:0042"),
            "urn:li:organizationalPage:42");
  for (const char* good : {"urn:li:person:-f_Ut43FoQ", "urn:li:person:a+b/c=",
                           "urn:li:person:ab==", "urn:li:person:AAAAAAAAAA"}) {
    EXPECT_EQ(*CanonicalFollowerUrn("follower", good), good);
  }
  const std::string longest = "urn:li:person:" + std::string(kMaxPersonIdLength, 'a');
  EXPECT_THAT(CanonicalFollowerUrn("follower", longest).status(), IsOk());
  for (const std::string& bad :
       {std::string("urn:li:person:../../x"), std::string("urn:li:person:a.b"),
        std::string("urn:li:person:a~b"), std::string("urn:li:person:=a"),
        std::string("urn:li:person:a==="), std::string("urn:li:person:=="),
        std::string("urn:li:person:a%2F"), longest + "a",
        std::string("urn:li:organizationalPage:0")}) {
    EXPECT_THAT(CanonicalFollowerUrn("follower", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("({id}: A-Z a-z 0-9 - _ + / and trailing =; {digits}: 1 "
                                   "to 2^63-1; at most 255 characters)")))
        << bad;
  }
}

TEST(FollowerClassifier, ByDefaultTellsConsentedMembersFromObfuscatedOnes) {
  const FollowerClassifier classifier;
  EXPECT_EQ(classifier.Classify("urn:li:person:-f_Ut43FoQ"), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_EQ(classifier.Classify("urn:li:person:WIOb"), v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(classifier.Classify("urn:li:person:abcdefghi+"),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(classifier.Classify("urn:li:person:abcdefghijk"),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  EXPECT_EQ(classifier.Classify("urn:li:organizationalPage:1"),
            v1::FOLLOWER_KIND_ORGANIZATIONAL_PAGE);
  EXPECT_EQ(classifier.Classify("urn:li:company:1"), v1::FOLLOWER_KIND_UNSPECIFIED);
}

TEST(FollowerClassifier, PatternIsConfigurable) {
  auto digits = FollowerClassifier::Create("[0-9]+");
  ASSERT_TRUE(digits.ok());
  EXPECT_EQ(digits->Classify("urn:li:person:123"), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_EQ(digits->Classify("urn:li:person:-f_Ut43FoQ"),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  auto all_consented = FollowerClassifier::Create("");
  ASSERT_TRUE(all_consented.ok());
  EXPECT_EQ(all_consented->Classify("urn:li:person:WIOb"), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_THAT(FollowerClassifier::Create("[unclosed"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("linkedin_consented_member_id_pattern")));
}

TEST(FollowerClassifier, NeverRunsThePatternOnAnIdLongerThanAUrnCanHold) {
  auto any_id = FollowerClassifier::Create("[A-Za-z0-9_-]+");
  ASSERT_TRUE(any_id.ok());
  const std::string longest(kMaxPersonIdLength, 'a');
  EXPECT_EQ(any_id->Classify("urn:li:person:" + longest), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_EQ(any_id->Classify("urn:li:person:" + longest + "a"),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  // Used to overflow the stack inside std::regex.
  EXPECT_EQ(any_id->Classify("urn:li:person:" + std::string(100'000, 'a')),
            v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
  auto all_consented = FollowerClassifier::Create("");
  ASSERT_TRUE(all_consented.ok());
  EXPECT_EQ(all_consented->Classify("urn:li:person:" + std::string(100'000, 'a')),
            v1::FOLLOWER_KIND_MEMBER);
}

}  // namespace
}  // namespace followgate
