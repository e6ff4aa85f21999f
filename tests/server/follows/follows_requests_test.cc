// Follows requests into upstream queries: canonical URNs and AIP-142
// durations.
#include "server/follows/follows_requests.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/follows/snapshot_hub.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

google::protobuf::Duration DurationOf(int64_t seconds, int32_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

TEST(RequestDuration, AcceptsWhatAip142Allows) {
  EXPECT_EQ(*RequestDuration("max_staleness", DurationOf(2, 500'000'000)),
            absl::Milliseconds(2500));
  EXPECT_EQ(*RequestDuration("max_staleness", DurationOf(-2, -500'000'000)),
            absl::Milliseconds(-2500));
  EXPECT_EQ(*RequestDuration("max_staleness", DurationOf(0, -999'999'999)),
            absl::Nanoseconds(-999'999'999));
  EXPECT_EQ(*RequestDuration("max_staleness", DurationOf(315'576'000'000, 999'999'999)),
            absl::Seconds(315'576'000'000) + absl::Nanoseconds(999'999'999));
  EXPECT_THAT(RequestDuration("max_staleness", DurationOf(-315'576'000'000, 0)).status(),
              IsOk());
}

TEST(RequestDuration, RefusesNanosOfASecondOrMoreMixedSignsAndHugeSeconds) {
  for (const google::protobuf::Duration& bad :
       {DurationOf(0, 2'000'000'000), DurationOf(0, 1'000'000'000), DurationOf(0, -1'000'000'000),
        DurationOf(1, -1), DurationOf(-1, 1), DurationOf(315'576'000'001, 0),
        DurationOf(-315'576'000'001, 0), DurationOf(INT64_MAX, 0)}) {
    EXPECT_THAT(RequestDuration("max_staleness", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("max_staleness is not a valid google.protobuf.Duration: "
                                   "seconds must be within +-315576000000, nanos within "
                                   "+-999999999, both of the same sign")))
        << bad.DebugString();
  }
}

TEST(SequencesFor, LeadingZerosNameTheSamePageInEveryQuery) {
  v1::StreamFollowersRequest padded;
  padded.set_followee("urn:li:organizationalPage:0777");
  auto sequences = SequencesFor(padded);
  ASSERT_THAT(sequences.status(), IsOk());
  ASSERT_EQ(sequences->size(), 2u);
  for (const FollowsQuery& query : *sequences) {
    EXPECT_EQ(query.urn, "urn:li:organizationalPage:777");
  }
  EXPECT_EQ(SnapshotQueryKey((*sequences)[0]),
            "followee:urn:li:organizationalPage:777:MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE");
  v1::StreamFollowingRequest following;
  following.set_follower("urn:li:organizationalPage:00042");
  auto follower = SequencesFor(following);
  ASSERT_THAT(follower.status(), IsOk());
  EXPECT_EQ((*follower)[0].urn, "urn:li:organizationalPage:42");
}

TEST(SequencesFor, RefusesPageZeroAndPathLikePersonIds) {
  v1::StreamFollowersRequest zero;
  zero.set_followee("urn:li:organizationalPage:000");
  EXPECT_THAT(SequencesFor(zero), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("{digits}: 1 to 2^63-1")));
  v1::StreamFollowingRequest path;
  path.set_follower("urn:li:person:../../x");
  EXPECT_THAT(SequencesFor(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("{id}: A-Z a-z 0-9 - _ + / and trailing =")));
}

}  // namespace
}  // namespace followgate
