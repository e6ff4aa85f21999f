#include "server/base/cancellation.h"

#include <utility>

namespace followgate {

void CancellationToken::Cancel() {
  std::map<int64_t, std::function<void()>> to_run;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
    to_run.swap(callbacks_);
    running_callbacks_ = true;
  }
  for (auto& [id, fn] : to_run) fn();
  absl::MutexLock lock(&mu_);
  running_callbacks_ = false;
}

int64_t CancellationToken::Add(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!IsCancelled()) {
      const int64_t id = next_id_++;
      callbacks_.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return -1;
}

void CancellationToken::Remove(int64_t id) {
  absl::MutexLock lock(&mu_);
  callbacks_.erase(id);
  // Cancel() may be running this very callback on another thread.
  mu_.Await(absl::Condition(
      +[](bool* running) { return !*running; }, &running_callbacks_));
}

CancellationCallback::CancellationCallback(const CancellationToken& token,
                                           std::function<void()> fn)
    : token_(const_cast<CancellationToken&>(token)),
      id_(token_.Add(std::move(fn))) {}

CancellationCallback::~CancellationCallback() { token_.Remove(id_); }

absl::Status SleepFor(Clock* clock, absl::Duration duration,
                      const CancellationToken& cancel) {
  absl::Mutex mu;
  // Registered before `mu` is taken and removed after it is released: the
  // callback takes `mu` to wake the wait.
  CancellationCallback wake(cancel, [&mu] { absl::MutexLock lock(&mu); });
  {
    absl::MutexLock lock(&mu);
    auto cancelled = [&cancel] { return cancel.IsCancelled(); };
    clock->AwaitWithDeadline(&mu, absl::Condition(&cancelled), clock->Now() + duration);
  }
  if (cancel.IsCancelled()) return absl::CancelledError("cancelled while waiting");
  return absl::OkStatus();
}

}  // namespace followgate
