// SourceDriver's state machine, without gRPC: a recording call, a scripted
// source, a real work queue and a timer queue on a fake clock.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/base/message_source.h"
#include "server/base/timer_queue.h"
#include "server/base/work_queue.h"
#include "server/grpc/source_reactor.h"
#include "server/testing/fake_clock.h"

namespace followgate {
namespace {

using Step = SourceStep<std::string>;

// What the test and the source share; outlives the source.
struct Script {
  absl::Mutex mu;
  std::deque<Step> steps ABSL_GUARDED_BY(mu);  // Next() pops; empty: kDone.
  std::function<void()> wake ABSL_GUARDED_BY(mu);
  bool wake_inline ABSL_GUARDED_BY(mu) = false;  // Watch() wakes at once.
  int nexts ABSL_GUARDED_BY(mu) = 0;
  int heartbeats ABSL_GUARDED_BY(mu) = 0;
  bool destroyed ABSL_GUARDED_BY(mu) = false;
  absl::Notification* block_next = nullptr;  // Next() waits for it once.
  absl::Notification* in_next = nullptr;

  void Add(Step step) {
    absl::MutexLock lock(&mu);
    steps.push_back(std::move(step));
  }
  std::function<void()> TakeWake() {
    absl::MutexLock lock(&mu);
    return std::exchange(wake, nullptr);
  }
};

Step Message(std::string text) { return {Step::Kind::kMessage, std::move(text)}; }
Step Wait(absl::Time heartbeat_at = absl::InfiniteFuture()) {
  Step step;
  step.kind = Step::Kind::kWait;
  step.heartbeat_at = heartbeat_at;
  return step;
}

class ScriptedSource final : public MessageSource<std::string> {
 public:
  explicit ScriptedSource(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  ~ScriptedSource() override {
    absl::MutexLock lock(&script_->mu);
    script_->destroyed = true;
  }
  absl::StatusOr<Step> Next() override {
    if (absl::Notification* block = std::exchange(script_->block_next, nullptr)) {
      script_->in_next->Notify();
      block->WaitForNotification();
    }
    absl::MutexLock lock(&script_->mu);
    ++script_->nexts;
    if (script_->steps.empty()) return Step();
    Step step = std::move(script_->steps.front());
    script_->steps.pop_front();
    return step;
  }
  std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) override {
    {
      absl::MutexLock lock(&script_->mu);
      if (!script_->wake_inline) {
        script_->wake = std::move(wake);
        return nullptr;
      }
    }
    wake();
    return nullptr;
  }
  absl::StatusOr<std::string> Heartbeat() override {
    absl::MutexLock lock(&script_->mu);
    ++script_->heartbeats;
    return std::string("heartbeat");
  }

 private:
  const std::shared_ptr<Script> script_;
};

// Records what it is given; acknowledges deliveries when told to.
class RecordingCall final : public SourceDriver<std::string> {
 public:
  RecordingCall(const CallRuntime& runtime, std::shared_ptr<Script> script, bool auto_ack = true)
      : SourceDriver(runtime, std::make_unique<ScriptedSource>(std::move(script))),
        auto_ack_(auto_ack) {}

  void Start() { StartDriving(); }
  using SourceDriver::Delivered;
  using SourceDriver::Stop;

  std::vector<std::string> delivered() {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  void WaitForDeliveries(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return delivered_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  absl::Status WaitForEnd() {
    ended_.WaitForNotification();
    return absl::Status(code_, message_);
  }
  bool ended() const { return ended_.HasBeenNotified(); }

 private:
  void Deliver(std::string message) override {
    {
      absl::MutexLock lock(&mu_);
      delivered_.push_back(std::move(message));
    }
    if (auto_ack_) Delivered(true);
  }
  // Keeps the code and message, not the status: Debian's abseil is not
  // instrumented, so ThreadSanitizer would not see a status's reference
  // count handed between threads.
  void Ended(const absl::Status& status) override {
    code_ = status.code();
    message_ = std::string(status.message());
    ended_.Notify();
  }

  const bool auto_ack_;
  absl::Mutex mu_;
  std::vector<std::string> delivered_ ABSL_GUARDED_BY(mu_);
  absl::StatusCode code_ = absl::StatusCode::kOk;
  std::string message_;
  absl::Notification ended_;
};

class SourceDriverTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  WorkQueue work_{1};  // One thread: a call that held it would stall the rest.
  TimerQueue timers_{&clock_};
  StreamTracker tracker_;
  CallRuntime runtime_{&work_, &timers_, &tracker_};
};

TEST_F(SourceDriverTest, DeliversEveryMessageInOrderThenEndsOk) {
  auto script = std::make_shared<Script>();
  script->Add(Message("a"));
  script->Add(Message("b"));
  script->Add(Message("c"));
  RecordingCall call(runtime_, script);
  call.Start();
  EXPECT_TRUE(call.WaitForEnd().ok());
  EXPECT_EQ(call.delivered(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(SourceDriverTest, AWaitingCallHoldsNoThreadAndGoesOnWhenItsDataComes) {
  auto waiting = std::make_shared<Script>();
  waiting->Add(Wait());
  waiting->Add(Message("late"));
  RecordingCall first(runtime_, waiting);
  first.Start();

  // The queue's only thread serves another call from start to end meanwhile.
  auto other = std::make_shared<Script>();
  other->Add(Message("x"));
  RecordingCall second(runtime_, other);
  second.Start();
  EXPECT_TRUE(second.WaitForEnd().ok());
  EXPECT_FALSE(first.ended());

  std::function<void()> wake;
  while ((wake = waiting->TakeWake()) == nullptr) {
    // The first call arms its watch on the queue's thread; that thread is
    // free (the second call ended), so this ends.
    absl::Notification turn;
    work_.Post([&] { turn.Notify(); });
    turn.WaitForNotification();
  }
  wake();
  EXPECT_TRUE(first.WaitForEnd().ok());
  EXPECT_EQ(first.delivered(), (std::vector<std::string>{"late"}));
}

TEST_F(SourceDriverTest, AWakeUpThatComesWhileTheWaitIsArmedIsNotLost) {
  auto script = std::make_shared<Script>();
  {
    absl::MutexLock lock(&script->mu);
    script->wake_inline = true;  // The data arrives as the watch is set.
  }
  script->Add(Wait());
  script->Add(Message("arrived"));
  RecordingCall call(runtime_, script);
  call.Start();
  EXPECT_TRUE(call.WaitForEnd().ok());
  EXPECT_EQ(call.delivered(), (std::vector<std::string>{"arrived"}));
}

TEST_F(SourceDriverTest, SendsAHeartbeatWhenTheDataDoesNotComeByItsTime) {
  auto script = std::make_shared<Script>();
  script->Add(Wait(clock_.Now() + absl::Seconds(10)));
  script->Add(Message("page"));
  RecordingCall call(runtime_, script);
  call.Start();
  while (script->TakeWake() == nullptr) {
    absl::Notification turn;
    work_.Post([&] { turn.Notify(); });
    turn.WaitForNotification();
  }
  clock_.BlockUntilWaiters(1);  // The timer thread sleeps until the heartbeat.
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(call.WaitForEnd().ok());
  EXPECT_EQ(call.delivered(), (std::vector<std::string>{"heartbeat", "page"}));
  absl::MutexLock lock(&script->mu);
  EXPECT_EQ(script->heartbeats, 1);
}

TEST_F(SourceDriverTest, AStopWhileWaitingEndsTheCallAtOnceAfterReleasingTheSource) {
  auto script = std::make_shared<Script>();
  script->Add(Wait(clock_.Now() + absl::Hours(1)));
  RecordingCall call(runtime_, script);
  call.Start();
  std::function<void()> wake;
  while ((wake = script->TakeWake()) == nullptr) {
    absl::Notification turn;
    work_.Post([&] { turn.Notify(); });
    turn.WaitForNotification();
  }
  call.Stop(absl::UnavailableError("draining"));
  EXPECT_EQ(call.WaitForEnd().code(), absl::StatusCode::kUnavailable);
  {
    absl::MutexLock lock(&script->mu);
    EXPECT_TRUE(script->destroyed);
  }
  EXPECT_EQ(timers_.pending(), 0);  // Its heartbeat is cancelled.
  wake();  // A late wake-up finds an ended call and does nothing.
  absl::Notification turn;
  work_.Post([&] { turn.Notify(); });
  turn.WaitForNotification();
  EXPECT_TRUE(call.delivered().empty());
}

TEST_F(SourceDriverTest, AStopDuringAStepEndsTheCallWithoutItsMessage) {
  auto script = std::make_shared<Script>();
  absl::Notification release, in_next;
  script->block_next = &release;
  script->in_next = &in_next;
  script->Add(Message("too late"));
  RecordingCall call(runtime_, script);
  call.Start();
  in_next.WaitForNotification();
  call.Stop(absl::CancelledError("the caller went away"));
  release.Notify();
  EXPECT_EQ(call.WaitForEnd().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(call.delivered().empty());
}

TEST_F(SourceDriverTest, ABrokenDeliveryEndsTheCallCancelled) {
  auto script = std::make_shared<Script>();
  script->Add(Message("a"));
  script->Add(Message("b"));
  RecordingCall call(runtime_, script, /*auto_ack=*/false);
  call.Start();
  call.WaitForDeliveries(1);
  call.Delivered(false);
  EXPECT_EQ(call.WaitForEnd().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(call.delivered(), (std::vector<std::string>{"a"}));
}

TEST_F(SourceDriverTest, ASourceErrorEndsTheCallWithIt) {
  class Failing final : public MessageSource<std::string> {
   public:
    absl::StatusOr<Step> Next() override { return absl::NotFoundError("no such page"); }
    std::unique_ptr<WatchHandle> Watch(std::function<void()>) override { return nullptr; }
  };
  class Call final : public SourceDriver<std::string> {
   public:
    explicit Call(const CallRuntime& runtime)
        : SourceDriver(runtime, std::make_unique<Failing>()) {
      StartDriving();
    }
    absl::StatusCode WaitForEnd() {
      ended_.WaitForNotification();
      return code_;
    }

   private:
    void Deliver(std::string) override {}
    void Ended(const absl::Status& status) override {
      code_ = status.code();
      ended_.Notify();
    }
    absl::StatusCode code_ = absl::StatusCode::kOk;
    absl::Notification ended_;
  };
  Call call(runtime_);
  EXPECT_EQ(call.WaitForEnd(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace followgate
