#include "server/base/work_queue.h"

#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace followgate {
namespace {

TEST(WorkQueueTest, RunsTasksOnItsOwnThreadsInTheOrderPosted) {
  absl::Mutex mu;
  std::vector<int> order;
  std::thread::id ran_on;
  {
    WorkQueue queue(1);
    for (int i = 0; i < 5; ++i) {
      queue.Post([&, i] {
        absl::MutexLock lock(&mu);
        order.push_back(i);
        ran_on = std::this_thread::get_id();
      });
    }
  }  // The destructor runs what is posted.
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(WorkQueueTest, ManyTasksShareAFixedNumberOfThreads) {
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  {
    WorkQueue queue(2);
    for (int i = 0; i < 1000; ++i) {
      queue.Post([&] {
        absl::MutexLock lock(&mu);
        threads.insert(std::this_thread::get_id());
      });
    }
  }
  EXPECT_LE(threads.size(), 2u);
  EXPECT_GE(threads.size(), 1u);
}

TEST(WorkQueueTest, ATaskMayPostAnotherWhileTheQueueIsDestroyed) {
  absl::Notification second_ran;
  {
    WorkQueue queue(1);
    queue.Post([&] { queue.Post([&] { second_ran.Notify(); }); });
  }
  EXPECT_TRUE(second_ran.HasBeenNotified());
}

TEST(WorkQueueTest, PendingCountsTasksNotStarted) {
  WorkQueue queue(1);
  absl::Notification started, release;
  queue.Post([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  queue.Post([] {});
  queue.Post([] {});
  EXPECT_EQ(queue.pending(), 2);
  release.Notify();
}

}  // namespace
}  // namespace followgate
