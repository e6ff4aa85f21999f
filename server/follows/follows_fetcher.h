// Reads whole follow sequences from LinkedIn, within the rate limit, retrying
// transient failures.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_FETCHER_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_FETCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/upstream/linkedin_client.h"
#include "server/follows/upstream_budget.h"

namespace followgate {

struct FollowsFetcherOptions {
  // Retries after the first attempt of one page.
  int max_retries = 5;
  // Wait after a timeout, broken connection, truncated body or 5xx
  // (LinkedIn asks for 60 s after a timeout).
  absl::Duration timeout_backoff = absl::Seconds(60);
  // The longest wait LinkedIn may ask for with Retry-After. A longer one ends
  // the fetch at once with RESOURCE_EXHAUSTED and a RetryInfo of the delay
  // asked (and holds every request of the process back for this long).
  absl::Duration max_wait = absl::Minutes(10);
  // Optional: told after each LinkedIn answer whether it accepted the access
  // token (false on 401, true on success). Must be quick and thread-safe.
  std::function<void(bool accepted)> on_credential_checked;
  // After LinkedIn rejected the token (401), requests with that same token
  // fail at once with UNAUTHENTICATED (no request, no budget slot) for this
  // long; then one request tries again. A new token (a rotated file, a
  // refresh) is tried at once. Zero: every request asks LinkedIn.
  absl::Duration rejected_token_retry = absl::Minutes(5);
};

// Who a fetch is for, for the pacer's fair sharing and for heartbeats.
struct Requester {
  std::string caller;
  int priority = 0;
  // Background work (a watched page): its requests wait for budget slots no
  // caller is ready for (PacerRequest::idle_only), unless promoted through
  // `ticket` (UpstreamBudget::Promote).
  bool idle_only = false;
  // Optional; not owned. Names the fetch while it waits in the pacer.
  WaitTicket* ticket = nullptr;
};

// A fetched page.
struct StreamedPage {
  FollowsPage page;
  // The edge type of the page's sequence (UNSPECIFIED for the follower finder).
  v1::FollowEdgeType edge_type = v1::FOLLOW_EDGE_TYPE_UNSPECIFIED;
  // Time spent waiting for the rate limit and backoffs before this page.
  absl::Duration upstream_wait;
  // Upstream requests this page took (1 + retries).
  int attempts = 0;
};

// What a sequence fetched before (by an earlier crawl of the same snapshot,
// e.g. before a restart), so that a cycle through it is recognised too.
struct SequenceHistory {
  // Every nextPaginationCursor already received in the sequence.
  std::vector<std::string> cursors;
  // Pages already received.
  int64_t pages = 0;
};

// How long a sequence may be, given the largest paging.total it announced:
// at most 2 * ceil(total / 1000) + 10 pages (short pages are legal), and at
// most total + total / 10 + 1000 elements (followers come and go during a
// crawl). Beyond either, the sequence is refused as LINKEDIN_SEQUENCE_TOO_LONG.
bool SequenceTooLong(int64_t pages, int64_t elements, int64_t total);

// Thread-safe; `client`, `pacer` and `clock` are not owned and must outlive
// this. Every request goes through `pacer` (a RequestPacer for one process,
// a FleetBudget for a fleet).
class FollowsFetcher {
 public:
  using PageCallback = std::function<absl::Status(StreamedPage page)>;

  FollowsFetcher(const LinkedInClient* client, UpstreamBudget* pacer, Clock* clock,
                 FollowsFetcherOptions options);

  // Fetches the page after `cursor`. A failure whose RetryAdvice allows it is
  // retried on the same cursor up to max_retries times: after the backoff, or
  // for 429 after its Retry-After (at most max_wait, see above) or else a
  // whole interval, which then doubles (UpstreamBudget::OnThrottled); either
  // also holds back every other request sharing the budget. Returns the last
  // failure once retries are spent (its message says how many attempts were
  // made), RESOURCE_EXHAUSTED at once for a Retry-After beyond max_wait, and
  // CANCELLED when `cancel` fires.
  absl::StatusOr<StreamedPage> FetchPage(const FollowsQuery& query,
                                         absl::string_view cursor,
                                         const CancellationToken& cancel,
                                         const Requester& requester = {}) const;

  // Reads the sequence from `cursor` ("" for its start) to its end: a page
  // without a next cursor (a short or empty page is not the end). Calls
  // `on_page` once per page, in order; stops at the first error, from
  // upstream or from `on_page`, and returns it. Nothing already passed to
  // `on_page` is fetched again. A page whose next cursor was seen before in
  // the sequence (`history`, `cursor` itself, or a page of this call) ends it
  // with LINKEDIN_CURSOR_REPEATED, and one that makes the sequence too long
  // for its paging.total (SequenceTooLong) with LINKEDIN_SEQUENCE_TOO_LONG
  // (both FAILED_PRECONDITION); that page is not passed to `on_page`.
  absl::Status FetchSequence(const FollowsQuery& query, std::string cursor,
                             const CancellationToken& cancel, const Requester& requester,
                             const PageCallback& on_page,
                             const SequenceHistory& history = {}) const;

 private:
  // RESOURCE_EXHAUSTED for a Retry-After beyond max_wait, with RetryInfo.
  absl::Status TooLongAWait(const absl::Status& throttled, absl::Duration asked) const;
  // UNAUTHENTICATED while the token in use is the one LinkedIn rejected
  // less than rejected_token_retry ago; OK otherwise.
  absl::Status KnownRejection() const;
  // Records the answer to a request made with token generation `used`.
  void RecordTokenAnswer(const absl::Status& answer, int64_t used) const;

  const LinkedInClient* const client_;
  UpstreamBudget* const pacer_;
  Clock* const clock_;
  const FollowsFetcherOptions options_;
  mutable absl::Mutex rejected_mu_;
  // The token generation LinkedIn last rejected, and when; -1: none.
  mutable int64_t rejected_generation_ ABSL_GUARDED_BY(rejected_mu_) = -1;
  mutable absl::Time rejected_at_ ABSL_GUARDED_BY(rejected_mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_FETCHER_H_
