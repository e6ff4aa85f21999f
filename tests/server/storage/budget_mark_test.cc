#include "server/storage/budget_mark.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(BudgetMark, NewFileHoldsNothingBack) {
  auto mark = BudgetMark::Open(TempPath("new"));
  ASSERT_THAT(mark.status(), IsOk());
  EXPECT_EQ((*mark)->Stored(kNow, absl::Seconds(60)), absl::InfinitePast());
}

TEST(BudgetMark, WhatIsRecordedIsWhatTheNextProcessReads) {
  const std::string path = TempPath("kept");
  {
    auto mark = BudgetMark::Open(path);
    ASSERT_THAT(mark.status(), IsOk());
    (*mark)->Record(kNow + absl::Seconds(90));
    (*mark)->Record(kNow + absl::Seconds(30));  // Shorter line over a longer one.
  }
  auto reopened = BudgetMark::Open(path);
  ASSERT_THAT(reopened.status(), IsOk());
  EXPECT_EQ((*reopened)->Stored(kNow, absl::Seconds(60)), kNow + absl::Seconds(30));
}

TEST(BudgetMark, DamagedFileCountsAsARequestJustStarted) {
  const std::string path = TempPath("damaged");
  std::ofstream(path) << "not a time\n";
  auto mark = BudgetMark::Open(path);
  ASSERT_THAT(mark.status(), IsOk());
  EXPECT_EQ((*mark)->Stored(kNow, absl::Seconds(60)), kNow + absl::Seconds(60));
}

TEST(BudgetMark, FormatAndParseRoundTripAtFixedWidth) {
  absl::Time parsed;
  const std::string line = FormatBudgetMark(kNow);
  EXPECT_EQ(line.size(), 21u);
  ASSERT_TRUE(ParseBudgetMark(line, &parsed));
  EXPECT_EQ(parsed, kNow);
  EXPECT_FALSE(ParseBudgetMark("-5", &parsed));
  EXPECT_FALSE(ParseBudgetMark("999999999999999999999", &parsed));
}

}  // namespace
}  // namespace followgate
