#include "server/request_pacer.h"

#include <algorithm>

namespace followgate {

RequestPacer::RequestPacer(Clock* clock, absl::Duration min_interval)
    : clock_(clock), min_interval_(min_interval) {}

bool RequestPacer::IsTurnOf(uint64_t ticket, absl::Time now) const {
  if (now < next_grant_) return false;
  for (const auto& [waiter, not_before] : waiters_) {
    if (not_before <= now) return waiter == ticket;
  }
  return false;
}

absl::Time RequestPacer::WakeTimeFor(uint64_t ticket, absl::Time now) const {
  const absl::Time mine = std::max(next_grant_, waiters_.at(ticket));
  // When the turn is someone else's right now, wait for the grant to change
  // hands (generation_) rather than for a time.
  return mine > now ? mine : absl::InfiniteFuture();
}

absl::Status RequestPacer::Acquire(absl::Time not_before,
                                   const CancellationToken& cancel) {
  // Registered before taking mu_: a token that is already cancelled runs the
  // callback at once, and the callback takes mu_ to wake the wait below.
  CancellationCallback wake(cancel, [this] { absl::MutexLock lock(&mu_); });
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = next_ticket_++;
  waiters_.emplace(ticket, not_before);
  for (;;) {
    if (cancel.IsCancelled()) {
      waiters_.erase(ticket);
      ++generation_;
      return absl::CancelledError("cancelled while waiting for the upstream rate limit");
    }
    const absl::Time now = clock_->Now();
    if (IsTurnOf(ticket, now)) {
      waiters_.erase(ticket);
      next_grant_ = now + min_interval_;
      ++generation_;
      return absl::OkStatus();
    }
    const uint64_t seen = generation_;
    auto changed = [this, seen, &cancel]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return generation_ != seen || cancel.IsCancelled();
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed),
                              WakeTimeFor(ticket, now));
  }
}

void RequestPacer::OnThrottled() {
  absl::MutexLock lock(&mu_);
  next_grant_ = std::max(next_grant_, clock_->Now() + min_interval_);
  ++generation_;
}

absl::Time RequestPacer::next_grant_time() const {
  absl::MutexLock lock(&mu_);
  return next_grant_;
}

int RequestPacer::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace followgate
