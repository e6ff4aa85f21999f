// A Clock that moves only when a test moves it.
#ifndef FOLLOWGATE_SERVER_TESTING_FAKE_CLOCK_H_
#define FOLLOWGATE_SERVER_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace followgate {

// Thread-safe. Threads blocked in AwaitWithDeadline wake when their condition
// holds or when the time passes their deadline. Time moves in two ways:
//  - by hand: Advance()/SetTime(), with BlockUntilWaiters() to know that the
//    threads under test are asleep;
//  - by itself, as a discrete-event simulation: after
//    EnableAutoAdvance(n), whenever all `n` participant threads wait in
//    AwaitWithDeadline, the time jumps to the earliest of their deadlines.
//    Time never moves while a participant runs, so what it observes is
//    exactly what the code under test would see with a real clock and
//    instantaneous work. A participant leaves with ParticipantDone().
// A mutex passed to AwaitWithDeadline must live until that call returns.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000));
  ~FakeClock() override;

  absl::Time Now() const override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override;

  void Advance(absl::Duration d);
  void SetTime(absl::Time t);

  // Blocks (for real) until at least `n` threads wait in AwaitWithDeadline.
  void BlockUntilWaiters(int n);
  int waiters() const;

  void EnableAutoAdvance(int participants);
  void ParticipantDone();

 private:
  struct Waiter {
    absl::Mutex* mu;
    const absl::Condition* cond;  // Valid while registered; read under *mu.
    absl::Time deadline;
    std::atomic<bool> woken{false};
    // Threads about to lock `mu` from outside (SetTime, IsRunnable). The
    // waiter does not return, so its `mu` stays alive, until this is 0.
    int pins = 0;  // Guarded by waiters_mu_.
  };

  void AutoAdvanceLoop();
  // Whether a registered waiter's condition already holds (it is about to
  // run, so time must not move yet).
  // `waiter` must be pinned.
  bool IsRunnable(const std::shared_ptr<Waiter>& waiter);
  void Unpin(const std::vector<std::shared_ptr<Waiter>>& waiters);

  std::atomic<int64_t> now_ns_;
  mutable absl::Mutex waiters_mu_;
  std::set<std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(waiters_mu_);
  // Bumped whenever waiters_ changes.
  uint64_t waiters_version_ ABSL_GUARDED_BY(waiters_mu_) = 0;
  int participants_ ABSL_GUARDED_BY(waiters_mu_) = -1;  // -1: no auto-advance.
  bool stopping_ ABSL_GUARDED_BY(waiters_mu_) = false;
  std::thread advancer_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_TESTING_FAKE_CLOCK_H_
