#include "server/follows/follows_requests.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/error_details.h"
#include "server/upstream/urn.h"

namespace followgate {
namespace {

using google::protobuf::util::TimeUtil;

FollowsQuery FolloweeQuery(const std::string& urn, v1::FollowEdgeType type) {
  FollowsQuery query;
  query.finder = FollowsQuery::Finder::kFollowee;
  query.urn = urn;
  query.edge_type = type;
  return query;
}

constexpr int64_t kMaxDurationSeconds = 315'576'000'000;
constexpr int32_t kMaxDurationNanos = 999'999'999;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowersRequest& request) {
  absl::StatusOr<std::string> followee = CanonicalFolloweeUrn("followee", request.followee());
  if (!followee.ok()) return followee.status();
  const FollowsQuery members =
      FolloweeQuery(*followee, v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  const FollowsQuery pages = FolloweeQuery(
      *followee, v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE);
  switch (request.follower_filter()) {
    case v1::FOLLOWER_FILTER_MEMBERS:
      return std::vector<FollowsQuery>{members};
    case v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES:
      return std::vector<FollowsQuery>{pages};
    case v1::FOLLOWER_FILTER_UNSPECIFIED:
    case v1::FOLLOWER_FILTER_ALL:
      return std::vector<FollowsQuery>{members, pages};
    default:
      return InvalidField("follower_filter",
                          absl::StrCat("follower_filter must be one of FOLLOWER_FILTER_MEMBERS, "
                                       "FOLLOWER_FILTER_ORGANIZATIONAL_PAGES or "
                                       "FOLLOWER_FILTER_ALL, got ",
                                       request.follower_filter()));
  }
}

absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowingRequest& request) {
  absl::StatusOr<std::string> follower = CanonicalFollowerUrn("follower", request.follower());
  if (!follower.ok()) return follower.status();
  FollowsQuery query;
  query.finder = FollowsQuery::Finder::kFollower;
  query.urn = *std::move(follower);
  return std::vector<FollowsQuery>{query};
}

absl::StatusOr<absl::Duration> RequestDuration(absl::string_view field,
                                               const google::protobuf::Duration& value) {
  const int64_t seconds = value.seconds();
  const int32_t nanos = value.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds ||
      nanos < -kMaxDurationNanos || nanos > kMaxDurationNanos ||
      (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return InvalidField(
        field, absl::StrCat(field,
                            " is not a valid google.protobuf.Duration: seconds must be within "
                            "+-315576000000, nanos within +-999999999, both of the same sign; "
                            "got seconds=",
                            seconds, " nanos=", nanos));
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

std::string SerializeStoredPage(StreamedPage& page) {
  v1::FollowerPage out;
  out.mutable_edges()->Swap(&page.page.edges);
  out.set_edge_type(page.edge_type);
  if (page.page.total.has_value()) out.set_upstream_total(*page.page.total);
  *out.mutable_fetch_time() = ToTimestamp(page.page.fetch_time);
  return out.SerializeAsString();
}

}  // namespace followgate
