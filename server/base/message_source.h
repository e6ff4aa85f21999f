// A sequence of messages read step by step, without holding a thread while
// it waits for data that is not there yet.
#ifndef FOLLOWGATE_SERVER_BASE_MESSAGE_SOURCE_H_
#define FOLLOWGATE_SERVER_BASE_MESSAGE_SOURCE_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"

namespace followgate {

// What a source's Next() did.
template <typename Message>
struct SourceStep {
  enum class Kind {
    kMessage,  // `message` is the next one.
    kMore,     // Work was done and nothing is ready yet: call Next() again.
    kWait,     // The next message is not there yet: Watch(), then Next().
    kDone,     // No message is left.
  };
  Kind kind = Kind::kDone;
  Message message;
  // kWait: when to send a Heartbeat() if the data has not come by then
  // (InfiniteFuture: never).
  absl::Time heartbeat_at = absl::InfiniteFuture();
};

// Cancels a Watch() when destroyed. The wake-up may still run once, on
// another thread, while or after this is destroyed: it must own what it
// touches.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

// Produces messages on demand. Next() and Heartbeat() never wait for another
// thread's progress (they may read storage); where data is not there yet,
// Next() says kWait and Watch() tells when to ask again. So a server holds
// thousands of waiting readers on a handful of threads. Thread-compatible:
// one caller at a time.
template <typename Message>
class MessageSource {
 public:
  virtual ~MessageSource() = default;

  // The next step; an error ends the sequence.
  virtual absl::StatusOr<SourceStep<Message>> Next() = 0;

  // After Next() said kWait: runs `wake` once (maybe at once, on this
  // thread) when Next() may get further. Null: nothing to watch (Next() is
  // retried only at the heartbeat).
  virtual std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) = 0;

  // After Next() said kWait and its heartbeat time came: a message that
  // tells the reader it is still waiting, or an error that ends the sequence.
  virtual absl::StatusOr<Message> Heartbeat() {
    return absl::InternalError("this source sends no heartbeats");
  }
};

// A source of one message computed by `compute` (e.g. one storage read),
// then kDone.
template <typename Message>
class OneShotSource final : public MessageSource<Message> {
 public:
  explicit OneShotSource(std::function<absl::StatusOr<Message>()> compute)
      : compute_(std::move(compute)) {}

  absl::StatusOr<SourceStep<Message>> Next() override {
    SourceStep<Message> step;
    if (compute_ == nullptr) return step;  // kDone
    absl::StatusOr<Message> message = std::exchange(compute_, nullptr)();
    if (!message.ok()) return message.status();
    step.kind = SourceStep<Message>::Kind::kMessage;
    step.message = *std::move(message);
    return step;
  }
  std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) override {
    wake();
    return nullptr;
  }

 private:
  std::function<absl::StatusOr<Message>()> compute_;
};

// Reads `source` to its end on the calling thread, blocking (by `clock`)
// while it waits: `write` gets every message, heartbeats included, and its
// first error ends the read. CANCELLED when `cancel` fires first. For
// callers that have a thread to spare (tests, tools); servers drive sources
// from callbacks instead.
template <typename Message>
absl::Status DrainSource(MessageSource<Message>& source, Clock* clock,
                         const CancellationToken& cancel,
                         const std::function<absl::Status(Message)>& write) {
  for (;;) {
    if (cancel.IsCancelled()) return absl::CancelledError("the reader went away");
    absl::StatusOr<SourceStep<Message>> step = source.Next();
    if (!step.ok()) return step.status();
    switch (step->kind) {
      case SourceStep<Message>::Kind::kDone:
        return absl::OkStatus();
      case SourceStep<Message>::Kind::kMore:
        continue;
      case SourceStep<Message>::Kind::kMessage: {
        absl::Status written = write(std::move(step->message));
        if (!written.ok()) return written;
        continue;
      }
      case SourceStep<Message>::Kind::kWait:
        break;
    }
    // Shared with the wake-up, which may outlive this wait.
    struct Flag {
      absl::Mutex mu;
      bool woken ABSL_GUARDED_BY(mu) = false;
    };
    auto flag = std::make_shared<Flag>();
    std::unique_ptr<WatchHandle> watch = source.Watch([flag] {
      absl::MutexLock lock(&flag->mu);
      flag->woken = true;
    });
    bool woken;
    {
      CancellationCallback on_cancel(cancel, [flag] { absl::MutexLock lock(&flag->mu); });
      absl::MutexLock lock(&flag->mu);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag->mu) {
        return flag->woken || cancel.IsCancelled();
      };
      woken = clock->AwaitWithDeadline(&flag->mu, absl::Condition(&ready), step->heartbeat_at);
    }
    watch.reset();
    if (woken || cancel.IsCancelled()) continue;
    absl::StatusOr<Message> heartbeat = source.Heartbeat();
    if (!heartbeat.ok()) return heartbeat.status();
    absl::Status written = write(*std::move(heartbeat));
    if (!written.ok()) return written;
  }
}

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_MESSAGE_SOURCE_H_
