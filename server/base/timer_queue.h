// Callbacks at times of a Clock, run by one thread.
#ifndef FOLLOWGATE_SERVER_BASE_TIMER_QUEUE_H_
#define FOLLOWGATE_SERVER_BASE_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace followgate {

// Runs each callback once `clock` reaches its time, on a thread of its own,
// one at a time, earliest first. One thread serves every timer of the
// process (e.g. the heartbeats of thousands of waiting streams), so
// callbacks must be short: post longer work elsewhere. It waits through
// `clock`, so a FakeClock drives it in tests. Thread-safe; `clock` is not
// owned.
class TimerQueue {
 public:
  using Id = uint64_t;

  explicit TimerQueue(Clock* clock);
  // Drops the timers that have not run.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` at `when` (at once if it has passed). Never returns 0.
  Id RunAt(absl::Time when, std::function<void()> callback);
  // Drops a timer that has not started; returns whether it did. A callback
  // already running goes on.
  bool Cancel(Id id);

  // Timers not run yet.
  int pending() const;

 private:
  void Run();

  Clock* const clock_;
  mutable absl::Mutex mu_;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // By time, then by id (so that equal times run in order).
  std::map<std::pair<absl::Time, Id>, std::function<void()>> timers_ ABSL_GUARDED_BY(mu_);
  std::map<Id, absl::Time> times_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;  // Bumped when the earliest may change.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_TIMER_QUEUE_H_
