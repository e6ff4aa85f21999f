// The open calls of a server, so that a drain can end them.
#ifndef FOLLOWGATE_SERVER_GRPC_STREAM_TRACKER_H_
#define FOLLOWGATE_SERVER_GRPC_STREAM_TRACKER_H_

#include <atomic>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/error_details.h"

namespace followgate {

// A call that can be ended from outside, e.g. when the server stops.
class AbortableStream {
 public:
  virtual ~AbortableStream() = default;
  // Stops the call's work and ends it with `status` (not OK). Never blocks
  // and never calls back into the tracker.
  virtual void Abort(const absl::Status& status) = 0;
};

// How a caller of a stream of pages continues after SERVER_DRAINING (the
// default of DrainingStatus).
inline constexpr absl::string_view kContinueWithResumeToken =
    "retry the call (another replica or later), with the last resume token";

// What a call gets while the server drains: UNAVAILABLE, reason
// SERVER_DRAINING, retry after a second (on another replica or the restarted
// server); the message says `how_to_continue`.
inline absl::Status DrainingStatus(absl::string_view how_to_continue = kContinueWithResumeToken) {
  return WithRetryDelay(
      WithErrorInfo(absl::UnavailableError(
                        absl::StrCat("followgate is shutting down; ", how_to_continue)),
                    "SERVER_DRAINING"),
      absl::Seconds(1));
}

// Tracks live calls so that their owner can end them and wait for all to
// finish before destroying what they use. Thread-safe.
class StreamTracker {
 public:
  void Add(AbortableStream* stream) {
    absl::MutexLock lock(&mu_);
    live_.insert(stream);
  }
  void Remove(AbortableStream* stream) {
    absl::MutexLock lock(&mu_);
    live_.erase(stream);
  }
  // Waits until no call is live or `timeout` passes; returns whether none is.
  bool WaitUntilNoneLive(absl::Duration timeout = absl::InfiniteDuration()) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_.empty(); };
    return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
  }
  // Aborts every live call with `status`.
  void AbortAll(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    for (AbortableStream* stream : live_) stream->Abort(status);
  }
  int live() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(live_.size());
  }

  // From now on new calls are refused (see DrainingStatus).
  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }

 private:
  std::atomic<bool> draining_{false};
  mutable absl::Mutex mu_;
  std::set<AbortableStream*> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_STREAM_TRACKER_H_
