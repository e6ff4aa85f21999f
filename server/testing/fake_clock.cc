#include "server/testing/fake_clock.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace followgate {

FakeClock::FakeClock(absl::Time start) : now_ns_(absl::ToUnixNanos(start)) {}

FakeClock::~FakeClock() {
  {
    absl::MutexLock lock(&waiters_mu_);
    stopping_ = true;
  }
  if (advancer_.joinable()) advancer_.join();
}

absl::Time FakeClock::Now() const { return absl::FromUnixNanos(now_ns_.load()); }

bool FakeClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  if (cond.Eval() || Now() >= deadline) return cond.Eval();
  auto waiter = std::make_shared<Waiter>();
  waiter->mu = mu;
  waiter->cond = &cond;
  waiter->deadline = deadline;
  {
    absl::MutexLock lock(&waiters_mu_);
    waiters_.insert(waiter);
    ++waiters_version_;
  }
  // A deadline passed between the check above and the registration is
  // caught here: time moves only for registered waiters.
  if (Now() >= deadline) waiter->woken = true;
  Waiter* w = waiter.get();
  auto woken_or_cond = [w, &cond] { return w->woken.load() || cond.Eval(); };
  mu->Await(absl::Condition(&woken_or_cond));
  bool pinned;
  {
    absl::MutexLock lock(&waiters_mu_);
    waiters_.erase(waiter);
    ++waiters_version_;
    pinned = waiter->pins > 0;
  }
  if (pinned) {
    // Another thread is about to lock `mu` (it is blocked on it, since we
    // hold it): let it finish before the caller may destroy `mu`.
    mu->Unlock();
    {
      absl::MutexLock lock(&waiters_mu_);
      auto unpinned = [w]() { return w->pins == 0; };
      waiters_mu_.Await(absl::Condition(&unpinned));
    }
    mu->Lock();
  }
  return cond.Eval();
}

void FakeClock::Advance(absl::Duration d) { SetTime(Now() + d); }

void FakeClock::SetTime(absl::Time t) {
  now_ns_.store(absl::ToUnixNanos(t));
  std::vector<std::shared_ptr<Waiter>> due;
  {
    absl::MutexLock lock(&waiters_mu_);
    for (const auto& w : waiters_) {
      if (w->deadline <= t && !w->woken) {
        ++w->pins;
        due.push_back(w);
      }
    }
  }
  for (const auto& w : due) {
    absl::MutexLock lock(w->mu);  // Releasing it re-evaluates the waiter's condition.
    w->woken = true;
  }
  Unpin(due);
}

void FakeClock::Unpin(const std::vector<std::shared_ptr<Waiter>>& waiters) {
  absl::MutexLock lock(&waiters_mu_);
  for (const auto& w : waiters) --w->pins;
}

void FakeClock::BlockUntilWaiters(int n) {
  absl::MutexLock lock(&waiters_mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiters_mu_) {
    return static_cast<int>(waiters_.size()) >= n;
  };
  waiters_mu_.Await(absl::Condition(&enough));
}

int FakeClock::waiters() const {
  absl::MutexLock lock(&waiters_mu_);
  return static_cast<int>(waiters_.size());
}

void FakeClock::EnableAutoAdvance(int participants) {
  {
    absl::MutexLock lock(&waiters_mu_);
    participants_ = participants;
  }
  advancer_ = std::thread([this] { AutoAdvanceLoop(); });
}

void FakeClock::ParticipantDone() {
  absl::MutexLock lock(&waiters_mu_);
  --participants_;
}

bool FakeClock::IsRunnable(const std::shared_ptr<Waiter>& waiter) {
  // Holding the waiter's mutex keeps it inside Await (and its condition
  // alive) if it is still registered; it deregisters only with *mu held.
  absl::MutexLock lock(waiter->mu);
  {
    absl::MutexLock waiters_lock(&waiters_mu_);
    if (waiters_.count(waiter) == 0) return true;  // Already left: running.
  }
  return waiter->woken || waiter->cond->Eval();
}

void FakeClock::AutoAdvanceLoop() {
  for (;;) {
    std::vector<std::shared_ptr<Waiter>> asleep;
    uint64_t version = 0;
    {
      absl::MutexLock lock(&waiters_mu_);
      auto all_registered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiters_mu_) {
        return stopping_ ||
               (participants_ > 0 &&
                static_cast<int>(waiters_.size()) >= participants_);
      };
      waiters_mu_.Await(absl::Condition(&all_registered));
      if (stopping_) return;
      asleep.assign(waiters_.begin(), waiters_.end());
      for (const auto& w : asleep) ++w->pins;
      version = waiters_version_;
    }
    bool runnable = false;
    absl::Time earliest = absl::InfiniteFuture();
    for (const auto& w : asleep) {
      runnable |= IsRunnable(w);
      earliest = std::min(earliest, w->deadline);
    }
    Unpin(asleep);
    if (runnable) {
      // Someone is about to run: wait until it has moved on.
      absl::MutexLock lock(&waiters_mu_);
      auto changed = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiters_mu_) {
        return stopping_ || waiters_version_ != version;
      };
      waiters_mu_.Await(absl::Condition(&changed));
      continue;
    }
    if (earliest == absl::InfiniteFuture()) {
      std::fprintf(stderr,
                   "FakeClock: every participant waits with no deadline: "
                   "deadlock in the code under test\n");
      std::abort();
    }
    SetTime(std::max(Now(), earliest));
  }
}

}  // namespace followgate
