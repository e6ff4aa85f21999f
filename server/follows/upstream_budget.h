// What the fetcher and the snapshot hub need from the upstream rate limit,
// whichever keeps it: RequestPacer (one process) or FleetBudget (a fleet, in
// PostgreSQL).
#ifndef FOLLOWGATE_SERVER_FOLLOWS_UPSTREAM_BUDGET_H_
#define FOLLOWGATE_SERVER_FOLLOWS_UPSTREAM_BUDGET_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"

namespace followgate {

// One request for an upstream slot.
struct PacerRequest {
  // Who the request is for; slots go round robin across callers.
  std::string caller;
  // Higher goes first; round robin applies within one priority.
  int priority = 0;
  // The request may not start earlier (a backoff), on the caller's clock.
  absl::Time not_before = absl::InfinitePast();
  // Background work (a watched page): granted only when no other request is
  // ready at grant time, whatever its priority, so a caller arriving while
  // it waits goes first and waits at most for the request already started.
  bool idle_only = false;
};

// Where a waiting request stands.
struct QueuePosition {
  // Requests that will be granted before it, as things stand.
  int ahead = 0;
  // When it will be granted, as things stand.
  absl::Duration estimated_wait;
};

// Lets another thread ask where a waiting Acquire stands, and promote the
// background work it names.
struct WaitTicket {
  std::atomic<uint64_t> id{0};  // 0 while not waiting.
  // Set by UpstreamBudget::Promote: the requests made with this ticket are
  // no longer idle-only, and go at `promoted_priority`.
  std::atomic<bool> promoted{false};
  std::atomic<int> promoted_priority{0};
};

// `request` as it stands for `ticket` (optional): a promoted idle-only
// request is an ordinary one at the promoted priority.
inline PacerRequest EffectiveRequest(const PacerRequest& request, const WaitTicket* ticket) {
  PacerRequest effective = request;
  if (request.idle_only && ticket != nullptr && ticket->promoted.load()) {
    effective.idle_only = false;
    effective.priority = ticket->promoted_priority.load();
  }
  return effective;
}

// Whole slots of `interval` that passed unused between `next_grant` (the
// earliest a request could have started) and a grant at `now`: the slots
// LinkedIn's budget left idle (followgate_linkedin_slots_total{use="idle"}).
inline int64_t IdleSlotsBefore(absl::Time next_grant, absl::Time now, absl::Duration interval) {
  if (interval <= absl::ZeroDuration() || now <= next_grant ||
      next_grant == absl::InfinitePast()) {
    return 0;
  }
  absl::Duration remainder;
  return absl::IDivDuration(now - next_grant, interval, &remainder);
}

// The contract of an upstream budget. Grants are never closer than the
// interval in force; among ready waiters the highest priority goes first,
// callers take turns within it (ChooseNextWaiter), each caller's requests in
// arrival order. A 429 doubles the interval (up to a maximum) and each run
// of RequestPacer::kSuccessesToStepBack answers that are not 429 halves it
// again, never below the minimum. Times are on the caller's clock (the one
// the implementation was given). Thread-safe.
class UpstreamBudget {
 public:
  virtual ~UpstreamBudget() = default;

  // Blocks until the request may start. OK: the grant is used up, start the
  // request now. CANCELLED if `cancel` fired first (nothing is spent); other
  // errors when the budget itself failed (e.g. its database is away). While
  // it waits, `ticket` (optional) names it for PositionOf().
  virtual absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                               WaitTicket* ticket = nullptr) = 0;

  // The upstream answered "too many requests" without naming a delay:
  // nothing starts until a whole (current) interval from now, and the
  // interval doubles (up to the maximum).
  virtual void OnThrottled() = 0;
  // The upstream answered "too many requests" and asked for `retry_after`:
  // nothing starts before that (nor before a whole interval), and the
  // interval doubles too.
  virtual void OnThrottled(absl::Duration retry_after) = 0;
  // The upstream answered something other than 429: counts towards stepping
  // a raised interval back.
  virtual void OnAnswered() = 0;

  // A caller joined the background work that makes its requests with
  // `ticket` (a watched page's crawl): from now on they are ordinary
  // requests at `priority`, the one waiting now included. Works whether or
  // not a request is waiting.
  virtual void Promote(WaitTicket* ticket, int priority) = 0;

  // The interval in force now (the minimum unless the upstream throttled).
  virtual absl::Duration interval() const = 0;
  // The earliest time the next grant can happen.
  virtual absl::Time next_grant_time() const = 0;
  // Where the waiter with this ticket id stands; nullopt when it is not
  // waiting (or, for a budget that must ask elsewhere, when that failed).
  virtual std::optional<QueuePosition> PositionOf(uint64_t ticket) const = 0;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_UPSTREAM_BUDGET_H_
