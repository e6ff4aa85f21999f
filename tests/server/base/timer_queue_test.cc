#include "server/base/timer_queue.h"

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"

namespace followgate {
namespace {

class TimerQueueTest : public ::testing::Test {
 protected:
  // Blocks until the queue's thread sleeps in the fake clock.
  void WaitUntilAsleep() { clock_.BlockUntilWaiters(1); }

  FakeClock clock_;
};

TEST_F(TimerQueueTest, RunsACallbackOnlyOnceItsTimeComes) {
  TimerQueue timers(&clock_);
  absl::Notification ran;
  timers.RunAt(clock_.Now() + absl::Seconds(10), [&] { ran.Notify(); });
  WaitUntilAsleep();
  clock_.Advance(absl::Seconds(9));
  WaitUntilAsleep();
  EXPECT_FALSE(ran.HasBeenNotified());
  clock_.Advance(absl::Seconds(1));
  ran.WaitForNotification();
  EXPECT_EQ(timers.pending(), 0);
}

TEST_F(TimerQueueTest, RunsTimersEarliestFirstWhateverTheOrderTheyCameIn) {
  // Before the queue, so destroyed after its thread stopped: the last
  // callback may still hold `mu` when the test reads `order`.
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification all;
  TimerQueue timers(&clock_);
  auto record = [&](int n) {
    absl::MutexLock lock(&mu);
    order.push_back(n);
    if (order.size() == 3) all.Notify();
  };
  timers.RunAt(clock_.Now() + absl::Seconds(3), [&] { record(3); });
  timers.RunAt(clock_.Now() + absl::Seconds(1), [&] { record(1); });
  timers.RunAt(clock_.Now() + absl::Seconds(2), [&] { record(2); });
  WaitUntilAsleep();
  clock_.Advance(absl::Seconds(5));
  all.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(TimerQueueTest, ATimerInThePastRunsAtOnce) {
  TimerQueue timers(&clock_);
  absl::Notification ran;
  timers.RunAt(clock_.Now() - absl::Seconds(1), [&] { ran.Notify(); });
  ran.WaitForNotification();
}

TEST_F(TimerQueueTest, ACancelledTimerNeverRuns) {
  TimerQueue timers(&clock_);
  absl::Notification later_ran;
  bool cancelled_ran = false;
  const TimerQueue::Id id =
      timers.RunAt(clock_.Now() + absl::Seconds(1), [&] { cancelled_ran = true; });
  timers.RunAt(clock_.Now() + absl::Seconds(2), [&] { later_ran.Notify(); });
  EXPECT_TRUE(timers.Cancel(id));
  EXPECT_FALSE(timers.Cancel(id));  // Only once.
  WaitUntilAsleep();
  clock_.Advance(absl::Seconds(2));
  later_ran.WaitForNotification();  // Timers run in order: the first is gone.
  EXPECT_FALSE(cancelled_ran);
}

TEST_F(TimerQueueTest, AnEarlierTimerWakesTheSleepingThread) {
  TimerQueue timers(&clock_);
  timers.RunAt(clock_.Now() + absl::Hours(1), [] {});
  WaitUntilAsleep();
  absl::Notification ran;
  timers.RunAt(clock_.Now() + absl::Seconds(1), [&] { ran.Notify(); });
  WaitUntilAsleep();
  clock_.Advance(absl::Seconds(1));
  ran.WaitForNotification();
  EXPECT_EQ(timers.pending(), 1);
}

TEST_F(TimerQueueTest, DestroyingTheQueueDropsTimersThatHaveNotRun) {
  bool ran = false;
  {
    TimerQueue timers(&clock_);
    timers.RunAt(clock_.Now() + absl::Seconds(1), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace followgate
