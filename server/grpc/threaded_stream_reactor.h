// A server stream fed by a blocking producer on a thread of its own.
#ifndef FOLLOWGATE_SERVER_GRPC_THREADED_STREAM_REACTOR_H_
#define FOLLOWGATE_SERVER_GRPC_THREADED_STREAM_REACTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/base/cancellation.h"
#include "server/base/error_details.h"
#include "server/grpc/call_scope.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/stream_tracker.h"

namespace followgate {

// Runs `producer` on a thread of its own: for calls whose work is upstream
// work that blocks (an invitation batch waits for ConnectSafely and its
// retries), as a crawl does. Reads from storage use SourceStreamReactor
// instead, which holds no thread.
//
// The producer hands each message to `write`, which returns once the
// previous message has left (one write in flight: the caller's flow control
// holds the producer back) or CANCELLED once the call is gone. When the
// producer returns, its status finishes the call and its scope logs it. The
// caller's cancellation or deadline, and Abort(), fire the producer's
// CancellationToken; an aborted call ends with the abort status (drains
// tell the caller `how_to_continue`). Deletes itself in OnDone.
template <typename Message>
class ThreadedStreamReactor final : public grpc::ServerWriteReactor<Message>,
                                    public AbortableStream {
 public:
  using Write = std::function<absl::Status(Message)>;
  using Producer = std::function<absl::Status(const CancellationToken& cancel,
                                              const Write& write, CallScope& scope)>;

  // `tracker` is not owned and must outlive every call it tracks.
  ThreadedStreamReactor(StreamTracker* tracker, std::unique_ptr<CallScope> scope,
                        Producer producer, absl::string_view how_to_continue)
      : tracker_(tracker),
        scope_(std::move(scope)),
        producer_(std::move(producer)),
        how_to_continue_(how_to_continue) {
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
      if (abort_status_.ok()) {
        abort_status_ =
            ErrorReason(status) == "SERVER_DRAINING" ? DrainingStatus(how_to_continue_) : status;
      }
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
    absl::Status status = producer_(
        cancel_, [this](Message message) { return WriteOne(std::move(message)); }, *scope_);
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(+[](bool* writing) { return !*writing; }, &writing_));
      if (!abort_status_.ok()) status = abort_status_;
    }
    scope_->End(status);
    this->Finish(ToGrpcStatus(status));
  }

  absl::Status WriteOne(Message message) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !writing_ || cancel_.IsCancelled();
      };
      mu_.Await(absl::Condition(&ready));
      if (cancel_.IsCancelled()) return absl::CancelledError("the caller went away");
      writing_ = true;
    }
    // Only this thread touches current_, and only while no write is in flight.
    current_ = std::move(message);
    this->StartWrite(&current_);
    return absl::OkStatus();
  }

  StreamTracker* const tracker_;
  const std::unique_ptr<CallScope> scope_;
  const Producer producer_;
  const std::string how_to_continue_;
  CancellationToken cancel_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
  Message current_;
  std::thread thread_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_THREADED_STREAM_REACTOR_H_
