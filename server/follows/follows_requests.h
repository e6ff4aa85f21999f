// Between the API's messages and the fetcher's upstream sequences.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_REQUESTS_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_REQUESTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "google/protobuf/duration.pb.h"
#include "server/follows/follows_fetcher.h"
#include "server/upstream/linkedin_client.h"

namespace followgate {

// The upstream sequences that answer a request, in stream order: members
// before pages for FOLLOWER_FILTER_ALL (or unset). INVALID_ARGUMENT naming
// the field when the request is malformed; nothing is fetched then. URNs
// are canonical in the queries (see CanonicalFolloweeUrn), so that
// `urn:li:organizationalPage:0777` and `...:777` are one query.
absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowersRequest& request);
absl::StatusOr<std::vector<FollowsQuery>> SequencesFor(
    const v1::StreamFollowingRequest& request);

// A google.protobuf.Duration of a request, checked as AIP-142 says:
// seconds within +-315,576,000,000, nanos within +-999,999,999, and both of
// the same sign. INVALID_ARGUMENT naming `field` and the rule otherwise; the
// field's own rules (e.g. not negative) are the caller's.
absl::StatusOr<absl::Duration> RequestDuration(absl::string_view field,
                                               const google::protobuf::Duration& value);

// A fetched page as snapshots store it: a serialized FollowerPage holding
// the edges, edge type, upstream total and fetch time. FollowingPage numbers
// its fields alike, so the same bytes parse as either; streams append their
// own fields (sequence number, last-page flag, upstream wait, resume token),
// which protobuf merges into the same message, without decoding the page.
// Moves the edges out of `page`.
std::string SerializeStoredPage(StreamedPage& page);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_REQUESTS_H_
