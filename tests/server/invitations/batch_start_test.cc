#include "server/invitations/batch_start.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;

BatchSpec Spec(std::vector<std::string> urns) {
  BatchSpec spec;
  spec.request_id = "b1";
  spec.company_id = "105672170";
  spec.account_id = "acct-1";
  spec.profile_urns = std::move(urns);
  return spec;
}

StoredBatch Stored(std::vector<std::string> urns) {
  StoredBatch stored;
  stored.company_id = "105672170";
  stored.account_id = "acct-1";
  stored.profile_urns = std::move(urns);
  return stored;
}

TEST(CheckRepeatedBatch, SameBatchIsOk) {
  EXPECT_TRUE(CheckRepeatedBatch(Stored({"a", "b"}), Spec({"a", "b"})).ok());
}

TEST(CheckRepeatedBatch, NamesTheCountBeforeAnyProfileAndTheFirstProfileThatDiffers) {
  const absl::Status count = CheckRepeatedBatch(Stored({"a", "b"}), Spec({"x"}));
  EXPECT_EQ(count.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(count.message()), HasSubstr("different number of profiles (2)"));
  EXPECT_EQ(ErrorReason(count), "REQUEST_ID_REUSED");
  const absl::Status profile = CheckRepeatedBatch(Stored({"a", "b", "c"}), Spec({"a", "x", "y"}));
  EXPECT_THAT(std::string(profile.message()),
              HasSubstr("\"b1\" already names a batch with a different profile_urns[1]: repeat "
                        "that request unchanged, or use a new request_id"));
}

TEST(CheckRepeatedBatch, CompanyIsCheckedBeforeAccount) {
  StoredBatch stored = Stored({"a"});
  stored.company_id = "1000";
  stored.account_id = "acct-2";
  EXPECT_THAT(std::string(CheckRepeatedBatch(stored, Spec({"a"})).message()),
              HasSubstr("different company_id"));
}

TEST(NewBatchProfiles, RepeatsAreDuplicatesOfTheirFirstIndex) {
  const std::vector<NewBatchProfile> profiles = NewBatchProfiles(Spec({"a", "b", "a", "a"}));
  ASSERT_EQ(profiles.size(), 4u);
  EXPECT_FALSE(profiles[0].duplicate);
  EXPECT_FALSE(profiles[1].duplicate);
  EXPECT_TRUE(profiles[2].duplicate);
  EXPECT_EQ(profiles[2].reason, "repeats profile_urns[0]");
  EXPECT_EQ(profiles[3].reason, "repeats profile_urns[0]");
  EXPECT_EQ(profiles[3].index, 3);
  EXPECT_EQ(profiles[3].profile_urn, "a");
}

}  // namespace
}  // namespace followgate
