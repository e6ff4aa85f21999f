// A server-streaming reactor fed by a blocking producer on its own thread.
#ifndef FOLLOWGATE_SERVER_PAGE_STREAM_REACTOR_H_
#define FOLLOWGATE_SERVER_PAGE_STREAM_REACTOR_H_

#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/cancellation.h"
#include "server/grpc_status.h"

namespace followgate {

// A stream that can be ended from outside, e.g. when the server stops.
class AbortableStream {
 public:
  virtual ~AbortableStream() = default;
  // Stops the stream's work and ends it with `status` (not OK).
  virtual void Abort(const absl::Status& status) = 0;
};

// Tracks live streams so that their owner can end them and wait for all to
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
  // Waits until no stream is live or `timeout` passes; returns whether none is.
  bool WaitUntilNoneLive(absl::Duration timeout = absl::InfiniteDuration()) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_.empty(); };
    return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
  }
  // Aborts every live stream with `status`.
  void AbortAll(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    // Abort() only flags the stream; it never removes it under this lock.
    for (AbortableStream* stream : live_) stream->Abort(status);
  }

 private:
  absl::Mutex mu_;
  std::set<AbortableStream*> live_ ABSL_GUARDED_BY(mu_);
};

// Runs `producer` on a thread of its own. The producer blocks on upstream
// work and hands each message to `write`, which returns once the previous
// message has left (one write in flight: the caller's flow control holds the
// producer back) or CANCELLED once the call is gone. When the producer
// returns, its status finishes the call. The caller's cancellation or
// deadline fires the producer's CancellationToken. Deletes itself in OnDone.
template <typename Message>
class PageStreamReactor final : public grpc::ServerWriteReactor<Message>,
                                public AbortableStream {
 public:
  using Write = std::function<absl::Status(Message)>;
  using Producer =
      std::function<absl::Status(const CancellationToken& cancel, const Write& write)>;

  // `tracker` is not owned and must outlive every stream it tracks.
  PageStreamReactor(StreamTracker* tracker, Producer producer)
      : tracker_(tracker), producer_(std::move(producer)) {
    tracker_->Add(this);
    thread_ = std::thread([this] { Run(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) cancel_.Cancel();  // The call broke: stop the upstream work.
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }

  void OnCancel() override {
    cancel_.Cancel();
    absl::MutexLock lock(&mu_);  // Wakes a producer waiting in WriteOne.
  }

  void Abort(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (abort_status_.ok()) abort_status_ = status;
    }
    cancel_.Cancel();
  }

  void OnDone() override {
    thread_.join();  // The producer has already called Finish: it is ending.
    tracker_->Remove(this);
    delete this;
  }

 private:
  void Run() {
    absl::Status status =
        producer_(cancel_, [this](Message message) { return WriteOne(std::move(message)); });
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(+[](bool* writing) { return !*writing; }, &writing_));
      if (!abort_status_.ok()) status = abort_status_;
    }
    this->Finish(ToGrpcStatus(status));
  }

  absl::Status WriteOne(Message message) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !writing_ || cancel_.IsCancelled();
      };
      mu_.Await(absl::Condition(&ready));
      if (cancel_.IsCancelled()) {
        return absl::CancelledError("the caller went away");
      }
      writing_ = true;
    }
    // Only this thread touches current_, and only while no write is in flight.
    current_ = std::move(message);
    this->StartWrite(&current_);
    return absl::OkStatus();
  }

  StreamTracker* const tracker_;
  const Producer producer_;
  CancellationToken cancel_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
  Message current_;
  std::thread thread_;
};

// A unary call whose answer may take long to compute (it may wait for
// upstream pages): `compute` runs on a thread of its own and its status
// finishes the call. The caller's cancellation or deadline, and Abort(), fire
// the token it gets. Deletes itself in OnDone.
class BlockingUnaryReactor final : public grpc::ServerUnaryReactor, public AbortableStream {
 public:
  using Compute = std::function<absl::Status(const CancellationToken& cancel)>;

  // `tracker` is not owned and must outlive the call.
  BlockingUnaryReactor(StreamTracker* tracker, Compute compute)
      : tracker_(tracker), compute_(std::move(compute)) {
    tracker_->Add(this);
    thread_ = std::thread([this] {
      absl::Status status = compute_(cancel_);
      {
        absl::MutexLock lock(&mu_);
        if (!abort_status_.ok()) status = abort_status_;
      }
      Finish(ToGrpcStatus(status));
    });
  }

  void OnCancel() override { cancel_.Cancel(); }
  void Abort(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (abort_status_.ok()) abort_status_ = status;
    }
    cancel_.Cancel();
  }
  void OnDone() override {
    thread_.join();
    tracker_->Remove(this);
    delete this;
  }

 private:
  StreamTracker* const tracker_;
  const Compute compute_;
  CancellationToken cancel_;
  absl::Mutex mu_;
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A stream that fails before producing anything (e.g. a malformed request).
template <typename Message>
class FailedStreamReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit FailedStreamReactor(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_PAGE_STREAM_REACTOR_H_
