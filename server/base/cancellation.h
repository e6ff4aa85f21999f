// Cooperative cancellation of long-running upstream work.
#ifndef FOLLOWGATE_SERVER_BASE_CANCELLATION_H_
#define FOLLOWGATE_SERVER_BASE_CANCELLATION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace followgate {

// Set once, when the work it guards is no longer wanted (the caller cancelled
// its stream, its deadline passed, or the server is stopping). Waiting code
// registers a CancellationCallback to be woken. Thread-safe.
class CancellationToken {
 public:
  CancellationToken() = default;
  CancellationToken(const CancellationToken&) = delete;
  CancellationToken& operator=(const CancellationToken&) = delete;

  // Marks the token cancelled and runs the registered callbacks once, on the
  // calling thread. Later calls do nothing.
  void Cancel();
  bool IsCancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  friend class CancellationCallback;
  int64_t Add(std::function<void()> fn);
  void Remove(int64_t id);

  std::atomic<bool> cancelled_{false};
  mutable absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_callbacks_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int64_t, std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

// Runs `fn` when `token` is cancelled while this object lives (at once, in
// the constructor, if it already is). After the destructor returns, `fn` is
// not running and will never run. `fn` must not block for long; it must not
// take a lock that the owner holds while destroying this object.
class CancellationCallback {
 public:
  CancellationCallback(const CancellationToken& token, std::function<void()> fn);
  ~CancellationCallback();
  CancellationCallback(const CancellationCallback&) = delete;
  CancellationCallback& operator=(const CancellationCallback&) = delete;

 private:
  CancellationToken& token_;
  int64_t id_;
};

// Waits `duration` by `clock`. OK when it has passed; CANCELLED as soon as
// `cancel` fires.
absl::Status SleepFor(Clock* clock, absl::Duration duration, const CancellationToken& cancel);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_CANCELLATION_H_
