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

// How a caller of a stream without resume tokens (StreamFollowerChanges)
// continues.
inline constexpr absl::string_view kContinueWithSameRequest =
    "send the same request again (another replica or later)";

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

// What ends a stream that has been open for `limit` (--max_stream_duration,
// below gRPC's max_connection_age + grace, so that no stream is cut by the
// connection's age without its token): UNAVAILABLE, reason STREAM_DURATION,
// retry at once; the message says `how_to_continue`.
inline absl::Status StreamDurationStatus(
    absl::Duration limit, absl::string_view how_to_continue = kContinueWithResumeToken) {
  return WithRetryDelay(
      WithErrorInfo(absl::UnavailableError(absl::StrCat(
                        "the stream reached max_stream_duration (", absl::FormatDuration(limit),
                        "); ", how_to_continue)),
                    "STREAM_DURATION"),
      absl::ZeroDuration());
}

// The end of a stream as its caller receives it. An end that retrying can
// fix (UNAVAILABLE: drain, stream duration, a database or upstream outage;
// ABORTED; RESOURCE_EXHAUSTED: throttling, a held budget, a full disk)
// carries, in ErrorInfo metadata `resume_token`, the token of the last page
// sent (`last_resume_token`; none before the first page: the caller sends
// the same request again); UNAVAILABLE and ABORTED also carry a RetryInfo (a
// second when the cause named no delay). Every other end (OK, the caller's
// cancellation or deadline, INVALID_ARGUMENT, FAILED_PRECONDITION, ...) is
// returned as it is. Pure.
inline absl::Status WithWayOn(absl::Status status, absl::string_view last_resume_token) {
  const absl::StatusCode code = status.code();
  if (code != absl::StatusCode::kUnavailable && code != absl::StatusCode::kAborted &&
      code != absl::StatusCode::kResourceExhausted) {
    return status;
  }
  if (code != absl::StatusCode::kResourceExhausted && !RetryDelay(status).has_value()) {
    status = WithRetryDelay(std::move(status), absl::Seconds(1));
  }
  if (last_resume_token.empty()) return status;
  return WithErrorMetadata(std::move(status), "resume_token", last_resume_token);
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
