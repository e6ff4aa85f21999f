// A server-streaming reactor fed by a blocking producer on its own thread.
#ifndef FOLLOWGATE_SERVER_GRPC_PAGE_STREAM_REACTOR_H_
#define FOLLOWGATE_SERVER_GRPC_PAGE_STREAM_REACTOR_H_

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/base/cancellation.h"
#include "server/base/error_details.h"
#include "server/grpc/grpc_status.h"

namespace followgate {

// A stream that can be ended from outside, e.g. when the server stops.
class AbortableStream {
 public:
  virtual ~AbortableStream() = default;
  // Stops the stream's work and ends it with `status` (not OK).
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

// Whether a message type carries a resume token.
template <typename Message, typename = void>
struct HasResumeToken : std::false_type {};
template <typename Message>
struct HasResumeToken<Message, std::void_t<decltype(std::declval<Message>().resume_token())>>
    : std::true_type {};

// Serialized bytes of a page message, ready for a raw stream, with the
// resume token the message carries.
class TokenedBuffer {
 public:
  TokenedBuffer() = default;
  // Takes `bytes` over without copying them.
  TokenedBuffer(std::string bytes, std::string resume_token)
      : resume_token_(std::move(resume_token)) {
    auto* owned = new std::string(std::move(bytes));
    grpc::Slice slice(
        owned->data(), owned->size(), +[](void* s) { delete static_cast<std::string*>(s); },
        owned);
    grpc::ByteBuffer buffer(&slice, 1);
    buffer_.Swap(&buffer);
  }
  const std::string& resume_token() const { return resume_token_; }
  grpc::ByteBuffer& buffer() { return buffer_; }

 private:
  grpc::ByteBuffer buffer_;
  std::string resume_token_;
};

// What gRPC writes for a message: the message itself, or a TokenedBuffer's
// bytes.
template <typename Message>
Message& WireOf(Message& message) {
  return message;
}
inline grpc::ByteBuffer& WireOf(TokenedBuffer& message) { return message.buffer(); }

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

  // From now on new calls are refused (see DrainingStatus).
  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }

 private:
  std::atomic<bool> draining_{false};
  absl::Mutex mu_;
  std::set<AbortableStream*> live_ ABSL_GUARDED_BY(mu_);
};

// Runs `producer` on a thread of its own. The producer blocks on upstream
// work and hands each message to `write`, which returns once the previous
// message has left (one write in flight: the caller's flow control holds the
// producer back) or CANCELLED once the call is gone. When the producer
// returns, its status finishes the call. The caller's cancellation or
// deadline fires the producer's CancellationToken. An aborted stream ends
// with the abort status, carrying in its ErrorInfo metadata `resume_token`
// the token of the last message sent (for messages that have one). Deletes
// itself in OnDone.
//
// `Wire` is what gRPC writes: Message itself, or grpc::ByteBuffer for a raw
// stream whose Message is a TokenedBuffer.
template <typename Message, typename Wire = Message>
class PageStreamReactor final : public grpc::ServerWriteReactor<Wire>,
                                public AbortableStream {
 public:
  using Write = std::function<absl::Status(Message)>;
  using Producer =
      std::function<absl::Status(const CancellationToken& cancel, const Write& write)>;

  // `tracker` is not owned and must outlive every stream it tracks. A stream
  // aborted by a drain (SERVER_DRAINING) tells its caller `how_to_continue`.
  PageStreamReactor(StreamTracker* tracker, Producer producer,
                    absl::string_view how_to_continue = kContinueWithResumeToken)
      : tracker_(tracker), producer_(std::move(producer)), how_to_continue_(how_to_continue) {
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
    absl::Status status =
        producer_(cancel_, [this](Message message) { return WriteOne(std::move(message)); });
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(+[](bool* writing) { return !*writing; }, &writing_));
      if (!abort_status_.ok()) {
        status = last_resume_token_.empty()
                     ? abort_status_
                     : WithErrorMetadata(abort_status_, "resume_token", last_resume_token_);
      }
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
    if constexpr (HasResumeToken<Message>::value) {
      if (!message.resume_token().empty()) {
        absl::MutexLock lock(&mu_);
        last_resume_token_ = message.resume_token();
      }
    }
    // Only this thread touches current_, and only while no write is in flight.
    current_ = std::move(WireOf(message));
    this->StartWrite(&current_);
    return absl::OkStatus();
  }

  StreamTracker* const tracker_;
  const Producer producer_;
  const std::string how_to_continue_;
  CancellationToken cancel_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status abort_status_ ABSL_GUARDED_BY(mu_);
  std::string last_resume_token_ ABSL_GUARDED_BY(mu_);
  Wire current_;
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

#endif  // FOLLOWGATE_SERVER_GRPC_PAGE_STREAM_REACTOR_H_
