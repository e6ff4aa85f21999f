// A small, fixed set of threads that runs short tasks.
#ifndef FOLLOWGATE_SERVER_BASE_WORK_QUEUE_H_
#define FOLLOWGATE_SERVER_BASE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace followgate {

// Runs posted tasks on `threads` threads of its own, oldest first. It is
// where work that may block for a moment (a database read) runs, so that
// callers such as gRPC's callback threads never block: however many calls
// are open, this many threads do their reads. Tasks must not wait for other
// tasks of the same queue. Thread-safe.
class WorkQueue {
 public:
  explicit WorkQueue(int threads);
  // Runs the tasks already posted, then joins the threads. Posting from a
  // task while the queue is being destroyed is allowed: that task runs too.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> task);

  // Tasks posted and not yet started (for metrics and tests).
  int pending() const;

 private:
  void Work();

  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_WORK_QUEUE_H_
