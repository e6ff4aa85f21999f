#include "server/follows/request_pacer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/base/log.h"
#include "server/base/metrics.h"

namespace followgate {

RequestPacer::RequestPacer(Clock* clock, absl::Duration min_interval,
                           absl::Duration max_interval)
    : clock_(clock),
      min_interval_(min_interval),
      max_interval_(max_interval < min_interval ? 8 * min_interval : max_interval),
      interval_(min_interval) {
  Metrics::Get().SetBudgetInterval(min_interval);
}

void RequestPacer::SetIntervalLocked(absl::Duration interval, absl::string_view why) {
  interval = std::clamp(interval, min_interval_, max_interval_);
  answers_in_a_row_ = 0;
  if (interval == interval_) return;
  LogInfo(absl::StrCat("upstream request interval ", absl::FormatDuration(interval_), " -> ",
                       absl::FormatDuration(interval), " (", why, ")"));
  interval_ = interval;
  Metrics::Get().SetBudgetInterval(interval);
}

uint64_t ChooseNextWaiter(const PacerWaiters& waiters, const std::string& last_caller,
                          absl::Time now) {
  // Idle-only waiters take part only when nobody else is ready.
  bool others_ready = false;
  for (const auto& [ticket, w] : waiters) {
    if (w.not_before <= now && !w.idle_only) others_ready = true;
  }
  const auto eligible = [&](const PacerWaiter& w) {
    return w.not_before <= now && !(others_ready && w.idle_only);
  };
  // The highest priority among ready waiters.
  std::optional<int> top;
  for (const auto& [ticket, w] : waiters) {
    if (eligible(w) && (!top.has_value() || w.priority > *top)) top = w.priority;
  }
  if (!top.has_value()) return 0;
  // Within it, the first caller after `last_caller` in cyclic name order,
  // and that caller's earliest ready waiter.
  uint64_t after = 0, wrapped = 0;
  const std::string* after_caller = nullptr;
  const std::string* wrapped_caller = nullptr;
  for (const auto& [ticket, w] : waiters) {
    if (!eligible(w) || w.priority != *top) continue;
    if (w.caller > last_caller) {
      if (after_caller == nullptr || w.caller < *after_caller) {
        after_caller = &w.caller;
        after = ticket;
      }
    } else if (wrapped_caller == nullptr || w.caller < *wrapped_caller) {
      wrapped_caller = &w.caller;
      wrapped = ticket;
    }
  }
  return after != 0 ? after : wrapped;
}

absl::Time RequestPacer::WakeTimeFor(uint64_t ticket, absl::Time now) const {
  const absl::Time mine = std::max(next_grant_, waiters_.at(ticket).not_before);
  // When the turn is someone else's right now, wait for the grant to change
  // hands (generation_) rather than for a time.
  return mine > now ? mine : absl::InfiniteFuture();
}

absl::Status RequestPacer::Acquire(absl::Time not_before, const CancellationToken& cancel) {
  PacerRequest request;
  request.not_before = not_before;
  return Acquire(request, cancel);
}

absl::Status RequestPacer::Acquire(const PacerRequest& request,
                                   const CancellationToken& cancel, WaitTicket* ticket_out) {
  // Registered before taking mu_: a token that is already cancelled runs the
  // callback at once, and the callback takes mu_ to wake the wait below.
  CancellationCallback wake(cancel, [this] { absl::MutexLock lock(&mu_); });
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = next_ticket_++;
  const PacerRequest effective = EffectiveRequest(request, ticket_out);
  waiters_.emplace(ticket, Waiter{request.caller, effective.priority, request.not_before,
                                  effective.idle_only});
  Metrics::Get().SetBudgetQueueLength(static_cast<int>(waiters_.size()));
  if (ticket_out != nullptr) ticket_out->id = ticket;
  auto leave = [&] {
    waiters_.erase(ticket);
    Metrics::Get().SetBudgetQueueLength(static_cast<int>(waiters_.size()));
    if (ticket_out != nullptr) ticket_out->id = 0;
    ++generation_;
  };
  for (;;) {
    if (cancel.IsCancelled()) {
      leave();
      return absl::CancelledError("cancelled while waiting for the upstream rate limit");
    }
    const absl::Time now = clock_->Now();
    if (now >= next_grant_ && ChooseNextWaiter(waiters_, last_caller_, now) == ticket) {
      leave();
      if (granted_before_) {
        Metrics::Get().RecordLinkedInSlots("idle", IdleSlotsBefore(next_grant_, now, interval_));
      }
      granted_before_ = true;
      SetNextGrantLocked(now + interval_);
      last_caller_ = request.caller;
      return absl::OkStatus();
    }
    const uint64_t seen = generation_;
    auto changed = [this, seen, &cancel]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return generation_ != seen || cancel.IsCancelled();
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed), WakeTimeFor(ticket, now));
  }
}

void RequestPacer::Promote(WaitTicket* ticket, int priority) {
  ticket->promoted_priority = priority;
  ticket->promoted = true;
  // Under mu_: an Acquire registering now reads the flag; one registered
  // before is updated here.
  absl::MutexLock lock(&mu_);
  auto it = waiters_.find(ticket->id.load());
  if (it == waiters_.end()) return;
  it->second.idle_only = false;
  it->second.priority = priority;
  ++generation_;
}

void RequestPacer::OnThrottled() {
  absl::MutexLock lock(&mu_);
  SetNextGrantLocked(std::max(next_grant_, clock_->Now() + interval_));
  SetIntervalLocked(std::max(2 * interval_, absl::Milliseconds(1)),
                    "throttled without Retry-After");
  ++generation_;
}

void RequestPacer::OnThrottled(absl::Duration retry_after) {
  absl::MutexLock lock(&mu_);
  SetNextGrantLocked(std::max(next_grant_, clock_->Now() + std::max(retry_after, interval_)));
  // A 429 says the pace is too fast for the upstream, whatever delay it names:
  // obeying only the delay would earn a 429 for every other request.
  SetIntervalLocked(std::max(2 * interval_, absl::Milliseconds(1)),
                    "throttled with Retry-After");
  ++generation_;
}

void RequestPacer::OnAnswered() {
  absl::MutexLock lock(&mu_);
  if (interval_ == min_interval_) return;
  if (++answers_in_a_row_ < kSuccessesToStepBack) return;
  SetIntervalLocked(interval_ / 2,
                    absl::StrCat(kSuccessesToStepBack, " answers without throttling"));
}

absl::Duration RequestPacer::interval() const {
  absl::MutexLock lock(&mu_);
  return interval_;
}

std::optional<QueuePosition> RequestPacer::PositionOf(uint64_t ticket) const {
  absl::MutexLock lock(&mu_);
  if (waiters_.count(ticket) == 0) return std::nullopt;
  // Replays the grants to come, as things stand.
  Waiters waiters = waiters_;
  std::string last = last_caller_;
  const absl::Time now = clock_->Now();
  absl::Time t = std::max(now, next_grant_);
  for (int ahead = 0;; ++ahead) {
    uint64_t next = ChooseNextWaiter(waiters, last, t);
    while (next == 0) {  // Nobody ready at t: jump to the next not_before.
      absl::Time earliest = absl::InfiniteFuture();
      for (const auto& [id, w] : waiters) earliest = std::min(earliest, w.not_before);
      t = std::max(t, earliest);
      next = ChooseNextWaiter(waiters, last, t);
    }
    if (next == ticket) return QueuePosition{ahead, t - now};
    last = waiters.at(next).caller;
    waiters.erase(next);
    t += interval_;
  }
}

void RequestPacer::SetNextGrantLocked(absl::Time next_grant) {
  next_grant_ = next_grant;
  if (next_grant_listener_) next_grant_listener_(next_grant);
}

void RequestPacer::RestoreNextGrant(absl::Time next_grant) {
  absl::MutexLock lock(&mu_);
  next_grant_ = std::max(next_grant_, next_grant);
  ++generation_;
}

void RequestPacer::SetNextGrantListener(std::function<void(absl::Time)> listener) {
  absl::MutexLock lock(&mu_);
  next_grant_listener_ = std::move(listener);
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
