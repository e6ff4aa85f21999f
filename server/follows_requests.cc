#include "server/follows_requests.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/error_details.h"
#include "server/urn.h"

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

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowersRequest& request) {
  if (absl::Status valid = ValidateFolloweeUrn("followee", request.followee());
      !valid.ok()) {
    return valid;
  }
  const FollowsQuery members = FolloweeQuery(
      request.followee(), v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  const FollowsQuery pages = FolloweeQuery(
      request.followee(),
      v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE);
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
  if (absl::Status valid = ValidateFollowerUrn("follower", request.follower());
      !valid.ok()) {
    return valid;
  }
  FollowsQuery query;
  query.finder = FollowsQuery::Finder::kFollower;
  query.urn = request.follower();
  return std::vector<FollowsQuery>{query};
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
