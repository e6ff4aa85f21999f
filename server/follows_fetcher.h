// Reads whole follow sequences from LinkedIn, within the rate limit, retrying
// transient failures.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FETCHER_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FETCHER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/cancellation.h"
#include "server/clock.h"
#include "server/linkedin_client.h"
#include "server/request_pacer.h"

namespace followgate {

struct FollowsFetcherOptions {
  // Retries after the first attempt of one page.
  int max_retries = 5;
  // Wait after a timeout, broken connection, truncated body or 5xx
  // (LinkedIn asks for 60 s after a timeout).
  absl::Duration timeout_backoff = absl::Seconds(60);
};

// A fetched page in its place in a stream.
struct StreamedPage {
  FollowsPage page;
  int64_t sequence_number = 0;
  // The stream's final page: the last sequence's page without a cursor.
  bool last_page = false;
  // The edge type of the page's sequence (UNSPECIFIED for the follower finder).
  v1::FollowEdgeType edge_type = v1::FOLLOW_EDGE_TYPE_UNSPECIFIED;
  // Time spent waiting for the rate limit and backoffs before this page.
  absl::Duration upstream_wait;
  // Upstream requests this page took (1 + retries).
  int attempts = 0;
};

// Thread-safe; `client`, `pacer` and `clock` are not owned and must outlive
// this. Every request goes through `pacer`.
class FollowsFetcher {
 public:
  using PageCallback = std::function<absl::Status(StreamedPage page)>;

  FollowsFetcher(const LinkedInClient* client, RequestPacer* pacer, Clock* clock,
                 FollowsFetcherOptions options);

  // Fetches the page after `cursor`. A failure whose RetryAdvice allows it is
  // retried on the same cursor up to max_retries times: after the backoff, or
  // after a whole interval for 429 (which also holds back every other request
  // of the process). Returns the last failure once retries are spent (its
  // message says how many attempts were made), CANCELLED when `cancel` fires.
  absl::StatusOr<StreamedPage> FetchPage(const FollowsQuery& query,
                                         absl::string_view cursor,
                                         const CancellationToken& cancel) const;

  // Reads each sequence to its end (a page without a cursor), one after the
  // other, calling `on_page` once per page in order; sequence numbers run on
  // across sequences. Stops at the first error, from upstream or from
  // `on_page`, and returns it; nothing already passed to `on_page` is
  // fetched or passed again.
  absl::Status StreamSequences(const std::vector<FollowsQuery>& sequences,
                               const CancellationToken& cancel,
                               const PageCallback& on_page) const;

 private:
  const LinkedInClient* const client_;
  RequestPacer* const pacer_;
  Clock* const clock_;
  const FollowsFetcherOptions options_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FETCHER_H_
