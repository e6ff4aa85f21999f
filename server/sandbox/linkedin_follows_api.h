// The semantics of LinkedIn's GET /rest/dmaOrganizationalPageFollows (DMA
// Organizational Page Follows API) over a FollowDataset: header checks
// (LinkedIn-Version, X-Restli-Protocol-Version), the "followee" and
// "follower" finders, parameter validation, cursor pagination and
// LinkedIn-style error bodies. Authentication, rate limiting, faults and
// statistics are the caller's (LinkedInSandbox's) job.
//
// Answers: 200 with {"paging","metadata","elements"}; 400 for bad headers,
// parameters or cursors; 404 for an unknown resource or a followee that is
// not seeded; 405 for a method other than GET; 426 for a version outside the
// accepted range.
//
// Immutable after construction; Handle() is thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_FOLLOWS_API_H_
#define FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_FOLLOWS_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "server/sandbox/http_message.h"
#include "server/sandbox/linkedin_cursor.h"
#include "server/sandbox/linkedin_dataset.h"

namespace followgate {
namespace sandbox {

inline constexpr char kFollowsResourcePath[] =
    "/rest/dmaOrganizationalPageFollows";

struct LinkedInFollowsApiOptions {
  // Accepted LinkedIn-Version range as YYYYMM numbers; newest 0 = unbounded.
  int oldest_version = 202411;
  int newest_version = 0;
  // When N > 0, every Nth page of a sequence is short (about half of what
  // was asked) yet still carries a next cursor, like pages with
  // privacy-masked members. Nothing is lost if the client keeps paging.
  int masked_every = 0;
};

// Parses "YYYYMM" or "YYYYMM.RR" into YYYYMM, or nullopt.
absl::optional<int> ParseLinkedInVersion(absl::string_view version);

class LinkedInFollowsApi {
 public:
  LinkedInFollowsApi(FollowDataset dataset, LinkedInFollowsApiOptions options);

  HttpReply Handle(const HttpRequest& request) const;

 private:
  using Params = std::map<std::string, std::string>;

  // One page of a finder's result list, as asked by the paging arguments.
  struct PageWindow {
    int count = 0;         // maxPaginationCount.
    CursorState position;  // Where this page starts.
  };

  // A 400/426 reply when the version or protocol headers are unacceptable.
  absl::optional<HttpReply> RejectHeaders(const HttpRequest& request) const;
  HttpReply Find(const HttpRequest& request) const;
  HttpReply FindByFollowee(const Params& params) const;
  HttpReply FindByFollower(const Params& params) const;
  // Reads maxPaginationCount and paginationCursor. InvalidArgument when
  // either is malformed or the cursor belongs to another query.
  absl::StatusOr<PageWindow> ReadWindow(const Params& params,
                                        uint64_t query_fingerprint) const;
  // Renders the page `window` of a list of `total` edges.
  HttpReply RenderPage(const PageWindow& window, int64_t total,
                       const std::function<FollowEdge(int64_t)>& edge_at) const;

  const FollowDataset dataset_;
  const LinkedInFollowsApiOptions options_;
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_FOLLOWS_API_H_
