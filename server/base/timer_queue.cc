#include "server/base/timer_queue.h"

namespace followgate {

TimerQueue::TimerQueue(Clock* clock) : clock_(clock), thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

TimerQueue::Id TimerQueue::RunAt(absl::Time when, std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(callback));
  times_.emplace(id, when);
  ++version_;
  return id;
}

bool TimerQueue::Cancel(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = times_.find(id);
  if (it == times_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  times_.erase(it);
  return true;
}

int TimerQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(timers_.size());
}

void TimerQueue::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (!timers_.empty() && timers_.begin()->first.first <= clock_->Now()) {
      auto first = timers_.begin();
      std::function<void()> callback = std::move(first->second);
      times_.erase(first->first.second);
      timers_.erase(first);
      mu_.Unlock();
      callback();
      mu_.Lock();
      continue;
    }
    // Sleeps until the earliest timer is due, or the timers change.
    const uint64_t seen = version_;
    const absl::Time until =
        timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || version_ != seen;
    };
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed), until);
  }
}

}  // namespace followgate
