// Spaces the starts of upstream requests to respect a rate limit, sharing
// them fairly among callers.
#ifndef FOLLOWGATE_SERVER_REQUEST_PACER_H_
#define FOLLOWGATE_SERVER_REQUEST_PACER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cancellation.h"
#include "server/clock.h"

namespace followgate {

// One request for an upstream slot.
struct PacerRequest {
  // Who the request is for; slots go round robin across callers.
  std::string caller;
  // Higher goes first; round robin applies within one priority.
  int priority = 0;
  // The request may not start earlier (a backoff).
  absl::Time not_before = absl::InfinitePast();
};

// Where a waiting request stands.
struct QueuePosition {
  // Requests that will be granted before it, as things stand.
  int ahead = 0;
  // When it will be granted, as things stand.
  absl::Duration estimated_wait;
};

// Lets another thread ask where a waiting Acquire stands.
struct WaitTicket {
  std::atomic<uint64_t> id{0};  // 0 while not waiting.
};

// Grants permission to start one upstream request so that no two grants are
// closer than `min_interval`, however many threads ask. Among the requests
// whose `not_before` has come, the highest priority goes first; within a
// priority, callers take turns (round robin, in the cyclic order of their
// names), and each caller's requests go in arrival order. So a 1,000-page
// crawl does not starve a one-page request, a request in backoff never holds
// up the others, and no slot goes unused while someone is ready.
// Thread-safe; `clock` is not owned.
class RequestPacer {
 public:
  RequestPacer(Clock* clock, absl::Duration min_interval);

  // Blocks until the request may start. Returns OK (the grant is used up:
  // start the request now) or CANCELLED if `cancel` fired first; a cancelled
  // waiter spends nothing. While it waits, `ticket` (optional) names it for
  // PositionOf().
  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       WaitTicket* ticket = nullptr);
  // Shorthand: anonymous caller, priority 0.
  absl::Status Acquire(absl::Time not_before, const CancellationToken& cancel);

  // The upstream answered "too many requests": nothing starts until a whole
  // interval from now.
  void OnThrottled();

  // Where the waiter with this ticket id stands; nullopt when it is not
  // waiting.
  std::optional<QueuePosition> PositionOf(uint64_t ticket) const;

  // The earliest time the next grant can happen.
  absl::Time next_grant_time() const;
  int waiting() const;
  absl::Duration min_interval() const { return min_interval_; }

 private:
  struct Waiter {
    std::string caller;
    int priority;
    absl::Time not_before;
  };
  using Waiters = std::map<uint64_t, Waiter>;  // By ticket (arrival order).

  // The ticket to serve at `now` after `last_caller`; 0 when none is ready.
  static uint64_t Choose(const Waiters& waiters, const std::string& last_caller,
                         absl::Time now);
  absl::Time WakeTimeFor(uint64_t ticket, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const absl::Duration min_interval_;
  mutable absl::Mutex mu_;
  absl::Time next_grant_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  // Bumped on every change that may hand the turn to another waiter.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_caller_ ABSL_GUARDED_BY(mu_);
  Waiters waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_REQUEST_PACER_H_
