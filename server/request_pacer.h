// Spaces the starts of upstream requests to respect a rate limit.
#ifndef FOLLOWGATE_SERVER_REQUEST_PACER_H_
#define FOLLOWGATE_SERVER_REQUEST_PACER_H_

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cancellation.h"
#include "server/clock.h"

namespace followgate {

// Grants permission to start one upstream request so that no two grants are
// closer than `min_interval`, however many threads ask. Among the waiters
// whose own earliest start has come, the one that asked first goes first, so
// a waiter in backoff never holds up the others and no slot is left unused
// while someone is ready. Thread-safe; `clock` is not owned.
class RequestPacer {
 public:
  RequestPacer(Clock* clock, absl::Duration min_interval);

  // Blocks until the caller may start a request, no earlier than
  // `not_before`. Returns OK (the grant is used up: start the request now) or
  // CANCELLED if `cancel` fired first; a cancelled waiter spends nothing.
  absl::Status Acquire(absl::Time not_before, const CancellationToken& cancel);

  // The upstream answered "too many requests": nothing starts until a whole
  // interval from now.
  void OnThrottled();

  // The earliest time the next grant can happen.
  absl::Time next_grant_time() const;
  int waiting() const;
  absl::Duration min_interval() const { return min_interval_; }

 private:
  bool IsTurnOf(uint64_t ticket, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time WakeTimeFor(uint64_t ticket, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const absl::Duration min_interval_;
  mutable absl::Mutex mu_;
  absl::Time next_grant_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped on every change that may hand the turn to another waiter.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Waiters by arrival: ticket → earliest start.
  std::map<uint64_t, absl::Time> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_REQUEST_PACER_H_
