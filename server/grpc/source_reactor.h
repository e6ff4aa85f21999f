// gRPC calls served from a MessageSource by callbacks, without a thread of
// their own.
#ifndef FOLLOWGATE_SERVER_GRPC_SOURCE_REACTOR_H_
#define FOLLOWGATE_SERVER_GRPC_SOURCE_REACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/base/clock.h"
#include "server/base/error_details.h"
#include "server/base/message_source.h"
#include "server/base/timer_queue.h"
#include "server/base/work_queue.h"
#include "server/grpc/call_scope.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/stream_tracker.h"

namespace followgate {

// What callback-driven calls run on. Not owned; must outlive every call.
struct CallRuntime {
  // Runs the sources' steps (they may read storage): a few threads serve
  // every open call.
  WorkQueue* work = nullptr;
  // Fires heartbeats.
  TimerQueue* timers = nullptr;
  StreamTracker* tracker = nullptr;
  // What the duration cut times by; with `max_stream_duration`, required.
  Clock* clock = nullptr;
  // A stream open this long ends with StreamDurationStatus (and its resume
  // token); infinite: never.
  absl::Duration max_stream_duration = absl::InfiniteDuration();
};

// Drives a MessageSource from events instead of a thread: a step (Next() or
// Heartbeat()) runs on the runtime's work queue when the call is admitted,
// when the previous message has been delivered, when the data a waiting
// source watches arrives, or when its heartbeat is due. In between, a
// waiting call holds no thread at all. Exactly one of these is true at any
// time, which is what makes the source single-threaded: a step runs or is
// queued, a message is being delivered, the call waits, or it has ended.
//
// The caller's cancellation and Abort() end the call at its next step:
// at once when it waits, after the running step or delivery otherwise.
// The state that wake-ups touch lives in a shared block, so that a late
// wake-up (a timer or watch firing as the call ends) finds an ended call and
// does nothing, whatever has been destroyed since.
//
// Subclasses deliver messages (Deliver, then Delivered() when done) and end
// the call (Ended). Not copyable; lives until Ended() has been called and
// the subclass deletes it.
template <typename Message>
class SourceDriver {
 public:
  SourceDriver(const CallRuntime& runtime, std::unique_ptr<MessageSource<Message>> source)
      : runtime_(runtime), source_(std::move(source)), control_(std::make_shared<Control>()) {
    control_->driver = this;
  }
  virtual ~SourceDriver() = default;
  SourceDriver(const SourceDriver&) = delete;
  SourceDriver& operator=(const SourceDriver&) = delete;

 protected:
  // Runs the first step. Call once, when the subclass is ready.
  void StartDriving() { runtime_.work->Post([this] { Step(); }); }

  // Hands a message to the caller; call Delivered(ok) once it has left
  // (ok false: the call broke).
  virtual void Deliver(Message message) = 0;
  // The call's last event: finish it with `status`. The source is gone.
  virtual void Ended(const absl::Status& status) = 0;

  void Delivered(bool ok) {
    absl::MutexLock lock(&control_->mu);
    if (!ok && control_->stop.ok()) control_->stop = absl::CancelledError("the call broke");
    control_->state = State::kRunning;
    runtime_.work->Post([this] { Step(); });
  }

  // Ends the call with `status` (not OK) at its next step.
  void Stop(const absl::Status& status) {
    absl::MutexLock lock(&control_->mu);
    if (control_->stop.ok()) control_->stop = status;
    if (control_->state == State::kArming) control_->woken = true;
    if (control_->state != State::kWaiting) return;
    ++control_->generation;  // The armed wake-ups are stale now.
    control_->state = State::kRunning;
    runtime_.work->Post([this] { Step(); });
  }

 private:
  enum class State { kRunning, kArming, kWaiting, kDelivering, kEnded };

  // What wake-ups share with the driver; outlives it while they do.
  struct Control {
    absl::Mutex mu;
    SourceDriver* driver = nullptr;  // Valid unless kEnded.
    State state = State::kRunning;
    uint64_t generation = 0;         // Of the current wait.
    bool woken = false;              // A wake-up came while arming.
    bool heartbeat_due = false;
    absl::Status stop;               // Not OK: end with this.
    std::unique_ptr<WatchHandle> watch;
    TimerQueue::Id timer = 0;
  };

  static void Wake(const std::shared_ptr<Control>& control, uint64_t generation,
                   bool heartbeat, WorkQueue* work) {
    absl::MutexLock lock(&control->mu);
    if (control->generation != generation) return;
    if (heartbeat) control->heartbeat_due = true;
    if (control->state == State::kArming) {
      control->woken = true;
      return;
    }
    if (control->state != State::kWaiting) return;
    control->state = State::kRunning;
    SourceDriver* driver = control->driver;
    work->Post([driver] { driver->Step(); });
  }

  void Step() {
    std::unique_ptr<WatchHandle> watch;
    TimerQueue::Id timer;
    absl::Status stop;
    bool heartbeat;
    {
      absl::MutexLock lock(&control_->mu);
      watch = std::move(control_->watch);
      timer = std::exchange(control_->timer, 0);
      stop = control_->stop;
      heartbeat = std::exchange(control_->heartbeat_due, false);
    }
    watch.reset();
    if (timer != 0) runtime_.timers->Cancel(timer);
    if (!stop.ok()) return End(stop);

    absl::StatusOr<SourceStep<Message>> step;
    if (heartbeat) {
      absl::StatusOr<Message> beat = source_->Heartbeat();
      if (beat.ok()) {
        step = SourceStep<Message>{SourceStep<Message>::Kind::kMessage, *std::move(beat)};
      } else {
        step = beat.status();
      }
    } else {
      step = source_->Next();
    }
    {
      absl::MutexLock lock(&control_->mu);
      stop = control_->stop;
    }
    if (!stop.ok()) return End(stop);
    if (!step.ok()) return End(step.status());
    switch (step->kind) {
      case SourceStep<Message>::Kind::kDone:
        return End(absl::OkStatus());
      case SourceStep<Message>::Kind::kMore:
        runtime_.work->Post([this] { Step(); });
        return;
      case SourceStep<Message>::Kind::kMessage: {
        {
          absl::MutexLock lock(&control_->mu);
          control_->state = State::kDelivering;
        }
        Deliver(std::move(step->message));
        return;
      }
      case SourceStep<Message>::Kind::kWait:
        return Arm(step->heartbeat_at);
    }
  }

  // Arms the wake-ups of a wait. Wake-ups that fire meanwhile (or a stop)
  // are noted and acted on once armed.
  void Arm(absl::Time heartbeat_at) {
    uint64_t generation;
    {
      absl::MutexLock lock(&control_->mu);
      control_->state = State::kArming;
      control_->woken = false;
      generation = ++control_->generation;
    }
    std::shared_ptr<Control> control = control_;
    WorkQueue* work = runtime_.work;
    std::unique_ptr<WatchHandle> watch = source_->Watch(
        [control, generation, work] { Wake(control, generation, false, work); });
    TimerQueue::Id timer = 0;
    if (heartbeat_at != absl::InfiniteFuture()) {
      timer = runtime_.timers->RunAt(heartbeat_at, [control, generation, work] {
        Wake(control, generation, true, work);
      });
    }
    absl::MutexLock lock(&control_->mu);
    control_->watch = std::move(watch);
    control_->timer = timer;
    // A stop that came after the step's own check, before arming began, is
    // acted on here too.
    if (control_->woken || !control_->stop.ok()) {
      control_->state = State::kRunning;
      runtime_.work->Post([this] { Step(); });
      return;
    }
    control_->state = State::kWaiting;
  }

  void End(const absl::Status& status) {
    std::unique_ptr<WatchHandle> watch;
    TimerQueue::Id timer;
    {
      absl::MutexLock lock(&control_->mu);
      control_->state = State::kEnded;
      control_->driver = nullptr;
      watch = std::move(control_->watch);
      timer = std::exchange(control_->timer, 0);
    }
    watch.reset();
    if (timer != 0) runtime_.timers->Cancel(timer);
    source_.reset();  // Lets go of what it reads before the call is done.
    Ended(status);
  }

  const CallRuntime runtime_;
  std::unique_ptr<MessageSource<Message>> source_;
  const std::shared_ptr<Control> control_;
};

// How a message goes on the wire: as itself...
template <typename Message>
void ToWire(Message message, Message* wire) {
  *wire = std::move(message);
}

// A server stream served from a source. `Wire` is what gRPC writes: the
// Message itself, or (for a raw method) a grpc::ByteBuffer that ToWire()
// fills from it. The call's scope counts every message (through `count`)
// and logs the call once it ends. A call open for the runtime's
// max_stream_duration is aborted with StreamDurationStatus. Every end that
// retrying can fix (an abort: drain or duration; an UNAVAILABLE, ABORTED or
// RESOURCE_EXHAUSTED step) goes out through WithWayOn: with, in ErrorInfo
// metadata `resume_token`, the token of the last message sent
// (`resume_token_of`, for messages that have one) and a RetryInfo.
// Deletes itself in OnDone.
template <typename Message, typename Wire = Message>
class SourceStreamReactor final : public grpc::ServerWriteReactor<Wire>,
                                  public SourceDriver<Message>,
                                  public AbortableStream {
 public:
  using Count = std::function<void(const Message&, CallScope&)>;
  using ResumeTokenOf = std::function<std::string(const Message&)>;

  SourceStreamReactor(const CallRuntime& runtime, std::unique_ptr<CallScope> scope,
                      std::unique_ptr<MessageSource<Message>> source, Count count,
                      ResumeTokenOf resume_token_of = nullptr,
                      absl::string_view how_to_continue = kContinueWithResumeToken)
      : SourceDriver<Message>(runtime, std::move(source)),
        tracker_(runtime.tracker),
        scope_(std::move(scope)),
        count_(std::move(count)),
        resume_token_of_(std::move(resume_token_of)),
        how_to_continue_(how_to_continue),
        timers_(runtime.timers),
        cut_(std::make_shared<Cut>()) {
    tracker_->Add(this);
    cut_->stream = this;
    if (runtime.max_stream_duration != absl::InfiniteDuration()) {
      const absl::Status cut = StreamDurationStatus(runtime.max_stream_duration, how_to_continue_);
      std::shared_ptr<Cut> shared = cut_;
      cut_timer_ = timers_->RunAt(runtime.clock->Now() + runtime.max_stream_duration,
                                  [shared, cut] {
                                    absl::MutexLock lock(&shared->mu);
                                    if (shared->stream != nullptr) shared->stream->Abort(cut);
                                  });
    }
    this->StartDriving();
  }

  void OnWriteDone(bool ok) override { this->Delivered(ok); }
  void OnCancel() override { this->Stop(absl::CancelledError("the caller went away")); }
  void Abort(const absl::Status& status) override {
    {
      absl::MutexLock lock(&abort_mu_);
      if (aborted_.ok()) {
        aborted_ = ErrorReason(status) == "SERVER_DRAINING" ? DrainingStatus(how_to_continue_)
                                                           : status;
      }
    }
    this->Stop(status);
  }
  void OnDone() override {
    {
      absl::MutexLock lock(&cut_->mu);
      cut_->stream = nullptr;  // A duration cut firing now does nothing.
    }
    if (cut_timer_ != 0) timers_->Cancel(cut_timer_);
    tracker_->Remove(this);
    delete this;
  }

 private:
  // What the duration timer shares with the reactor; outlives it while the
  // timer does.
  struct Cut {
    absl::Mutex mu;
    SourceStreamReactor* stream ABSL_GUARDED_BY(mu) = nullptr;  // Null once done.
  };

  void Deliver(Message message) override {
    count_(message, *scope_);
    if (resume_token_of_ != nullptr) {
      std::string token = resume_token_of_(message);
      if (!token.empty()) last_resume_token_ = std::move(token);
    }
    ToWire(std::move(message), &wire_);
    this->StartWrite(&wire_);
  }

  void Ended(const absl::Status& status) override {
    absl::Status final_status = status;
    {
      absl::MutexLock lock(&abort_mu_);
      if (!aborted_.ok()) final_status = aborted_;
    }
    final_status = WithWayOn(std::move(final_status), last_resume_token_);
    scope_->End(final_status);
    this->Finish(ToGrpcStatus(final_status));
  }

  StreamTracker* const tracker_;
  const std::unique_ptr<CallScope> scope_;
  const Count count_;
  const ResumeTokenOf resume_token_of_;
  const std::string how_to_continue_;
  TimerQueue* const timers_;
  const std::shared_ptr<Cut> cut_;
  TimerQueue::Id cut_timer_ = 0;
  // Only steps touch these, one at a time.
  std::string last_resume_token_;
  Wire wire_;
  absl::Mutex abort_mu_;
  absl::Status aborted_ ABSL_GUARDED_BY(abort_mu_);
};

// A unary call answered by the first message of a source (e.g. a
// ListFollowers page that may wait for pages being fetched), with no thread
// of its own while it waits. Deletes itself in OnDone.
template <typename Response>
class SourceUnaryReactor final : public grpc::ServerUnaryReactor,
                                 public SourceDriver<Response>,
                                 public AbortableStream {
 public:
  using Count = std::function<void(const Response&, CallScope&)>;

  // `response` is gRPC's, valid until the call is done.
  SourceUnaryReactor(const CallRuntime& runtime, std::unique_ptr<CallScope> scope,
                     std::unique_ptr<MessageSource<Response>> source, Response* response,
                     Count count)
      : SourceDriver<Response>(runtime, std::move(source)),
        tracker_(runtime.tracker),
        scope_(std::move(scope)),
        response_(response),
        count_(std::move(count)) {
    tracker_->Add(this);
    this->StartDriving();
  }

  void OnCancel() override { this->Stop(absl::CancelledError("the caller went away")); }
  void Abort(const absl::Status& status) override { this->Stop(status); }
  void OnDone() override {
    tracker_->Remove(this);
    delete this;
  }

 private:
  void Deliver(Response message) override {
    count_(message, *scope_);
    *response_ = std::move(message);
    this->Delivered(true);  // The answer is kept; the next step ends the call.
  }
  void Ended(const absl::Status& status) override {
    scope_->End(status);
    this->Finish(ToGrpcStatus(status));
  }

  StreamTracker* const tracker_;
  const std::unique_ptr<CallScope> scope_;
  Response* const response_;
  const Count count_;
};

// A stream that ends before producing anything (a refused or malformed
// call); its scope, if any, logs it.
template <typename Message>
class FailedStreamReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit FailedStreamReactor(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// A unary call that ends at once with `status`.
inline grpc::ServerUnaryReactor* FinishedUnary(grpc::CallbackServerContext* context,
                                               const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_SOURCE_REACTOR_H_
