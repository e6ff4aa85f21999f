// Between the API's messages and the fetcher's upstream sequences.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_REQUESTS_H_
#define FOLLOWGATE_SERVER_FOLLOWS_REQUESTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "followgate/v1/follows.pb.h"
#include "server/follows_fetcher.h"
#include "server/linkedin_client.h"

namespace followgate {

// The upstream sequences that answer a request, in stream order: members
// before pages for FOLLOWER_FILTER_ALL (or unset). INVALID_ARGUMENT naming
// the field when the request is malformed; nothing is fetched then.
absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowersRequest& request);
absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowingRequest& request);

// The API message for a streamed page. Moves the edges out of `page`.
v1::FollowerPage ToFollowerPage(StreamedPage& page);
v1::FollowingPage ToFollowingPage(StreamedPage& page);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_REQUESTS_H_
