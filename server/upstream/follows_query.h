// What one upstream follows sequence is, and one page of it. They sit here,
// beside the client that speaks them, because the LinkedIn client (below
// the follows package) takes and returns them; the follows package builds
// them from requests (follows_requests.h).
#ifndef FOLLOWGATE_SERVER_UPSTREAM_FOLLOWS_QUERY_H_
#define FOLLOWGATE_SERVER_UPSTREAM_FOLLOWS_QUERY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "google/protobuf/repeated_field.h"

namespace followgate {

// One upstream sequence: the followers of a page for one edge type (finder
// `followee`), or the pages one follower follows (finder `follower`).
struct FollowsQuery {
  enum class Finder { kFollowee, kFollower };
  Finder finder = Finder::kFollowee;
  std::string urn;
  // Finder kFollowee only.
  v1::FollowEdgeType edge_type = v1::FOLLOW_EDGE_TYPE_UNSPECIFIED;
};

// One page of a sequence as LinkedIn returned it.
struct FollowsPage {
  google::protobuf::RepeatedPtrField<v1::FollowEdge> edges;
  // `metadata.nextPaginationCursor`; empty when absent, which alone ends the
  // sequence (a short page does not).
  std::string next_cursor;
  // `paging.total`, when present.
  std::optional<int64_t> total;
  absl::Time fetch_time;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_FOLLOWS_QUERY_H_
