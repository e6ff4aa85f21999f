// Time as the core sees it: injected so that tests can drive it.
#ifndef FOLLOWGATE_SERVER_BASE_CLOCK_H_
#define FOLLOWGATE_SERVER_BASE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace followgate {

// A source of time that can also wait for a condition until a deadline of its
// own. Core code never reads the wall clock or sleeps directly; it asks a
// Clock, so tests can substitute a FakeClock and advance it by hand.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // Waits until `cond` holds or this clock reaches `deadline`. `mu` must be
  // held on entry and is held on return; `cond` is evaluated with `mu` held
  // and re-evaluated whenever `mu` is released by another thread. Returns
  // whether `cond` holds.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                 absl::Time deadline) = 0;

  // The process-wide real clock. Never null; lives forever.
  static Clock* Real();
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_CLOCK_H_
