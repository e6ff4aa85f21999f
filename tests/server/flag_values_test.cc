#include "server/flag_values.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(ParseCompanyCredits, CompanyIdsAreCanonicalLikeInRequests) {
  auto credits = ParseCompanyCredits("0105672170:150,,1000:250");
  ASSERT_THAT(credits.status(), IsOk());
  EXPECT_THAT(*credits, UnorderedElementsAre(Pair("105672170", 150), Pair("1000", 250)));
}

TEST(ParseCompanyCredits, RefusesIdsLinkedInCannotMeanAndBadCounts) {
  for (const char* list : {"0:5", "abc:5", "9223372036854775808:1", "1000:-1", "1000", ":5"}) {
    EXPECT_THAT(ParseCompanyCredits(list),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("company_invitation_credits entries must be COMPANY_ID:COUNT")))
        << list;
  }
}

}  // namespace
}  // namespace followgate
