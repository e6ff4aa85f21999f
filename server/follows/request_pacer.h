// Spaces the starts of upstream requests to respect a rate limit, sharing
// them fairly among callers.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_REQUEST_PACER_H_
#define FOLLOWGATE_SERVER_FOLLOWS_REQUEST_PACER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/follows/upstream_budget.h"

namespace followgate {

// A request waiting for a slot, as the choice of who goes next sees it.
struct PacerWaiter {
  std::string caller;
  int priority;
  absl::Time not_before;
  bool idle_only = false;  // See PacerRequest::idle_only.
};
// Waiting requests by arrival order (lower ids arrived earlier); ids are
// never 0.
using PacerWaiters = std::map<uint64_t, PacerWaiter>;

// Who goes next at `now`, when `last_caller` had the previous slot: among
// the waiters whose not_before has come, the highest priority; within it,
// the first caller after `last_caller` in the cyclic order of caller names;
// that caller's earliest waiter. Idle-only waiters count only when no other
// waiter is ready. 0 when nobody is ready. RequestPacer and
// FleetBudget both follow it.
uint64_t ChooseNextWaiter(const PacerWaiters& waiters, const std::string& last_caller,
                          absl::Time now);

// Grants permission to start one upstream request so that no two grants are
// closer than `min_interval`, however many threads ask. Among the requests
// whose `not_before` has come, the highest priority goes first; within a
// priority, callers take turns (round robin, in the cyclic order of their
// names), and each caller's requests go in arrival order. So a 1,000-page
// crawl does not starve a one-page request, a request in backoff never holds
// up the others, and no slot goes unused while someone is ready.
//
// The spacing adapts to the upstream: a 429 doubles the interval (up to
// `max_interval`), and each run of kSuccessesToStepBack
// answers that are not 429 halves it again, never below `min_interval`. Each
// change is logged and the effective interval is the
// followgate_budget_interval_seconds gauge.
// Thread-safe; `clock` is not owned.
class RequestPacer : public UpstreamBudget {
 public:
  // Answers in a row after which a raised interval steps back.
  static constexpr int kSuccessesToStepBack = 10;

  // `max_interval` below `min_interval` (e.g. the default) means 8 times
  // `min_interval`.
  RequestPacer(Clock* clock, absl::Duration min_interval,
               absl::Duration max_interval = absl::ZeroDuration());

  // Blocks until the request may start. Returns OK (the grant is used up:
  // start the request now) or CANCELLED if `cancel` fired first; a cancelled
  // waiter spends nothing. While it waits, `ticket` (optional) names it for
  // PositionOf().
  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       WaitTicket* ticket = nullptr) override;
  // Shorthand: anonymous caller, priority 0.
  absl::Status Acquire(absl::Time not_before, const CancellationToken& cancel);

  // The upstream answered "too many requests" without naming a delay:
  // nothing starts until a whole (current) interval from now, and the
  // interval doubles (up to max_interval).
  void OnThrottled() override;
  // The upstream answered "too many requests" and asked for `retry_after`:
  // nothing starts before that (nor before a whole interval), and the
  // interval doubles too (up to max_interval).
  void OnThrottled(absl::Duration retry_after) override;
  // The upstream answered something other than 429: counts towards stepping
  // a raised interval back.
  void OnAnswered() override;
  void Promote(WaitTicket* ticket, int priority) override;

  // Where the waiter with this ticket id stands; nullopt when it is not
  // waiting.
  std::optional<QueuePosition> PositionOf(uint64_t ticket) const override;

  // The earliest time the next grant can happen.
  absl::Time next_grant_time() const override;
  // Restores a next grant recorded before a restart (see BudgetMark): no
  // grant happens before `next_grant`. Call before the first Acquire.
  void RestoreNextGrant(absl::Time next_grant);
  // Told (under the pacer's lock: must be quick) every new next grant time.
  void SetNextGrantListener(std::function<void(absl::Time)> listener);
  int waiting() const;
  absl::Duration min_interval() const { return min_interval_; }
  absl::Duration max_interval() const { return max_interval_; }
  // The interval in force now (min_interval unless the upstream throttled).
  absl::Duration interval() const override;

 private:
  using Waiter = PacerWaiter;
  using Waiters = PacerWaiters;  // By ticket (arrival order).

  absl::Time WakeTimeFor(uint64_t ticket, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  void SetIntervalLocked(absl::Duration interval, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetNextGrantLocked(absl::Time next_grant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration min_interval_;
  const absl::Duration max_interval_;
  mutable absl::Mutex mu_;
  absl::Duration interval_ ABSL_GUARDED_BY(mu_);
  int answers_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_grant_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::function<void(absl::Time)> next_grant_listener_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  // Bumped on every change that may hand the turn to another waiter.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_caller_ ABSL_GUARDED_BY(mu_);
  // Whether this pacer granted before (idle slots count from the first).
  bool granted_before_ ABSL_GUARDED_BY(mu_) = false;
  Waiters waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_REQUEST_PACER_H_
