#include "server/follows/request_pacer.h"

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;

constexpr absl::Duration kInterval = absl::Seconds(60);

TEST(RequestPacer, FirstRequestStartsAtOnceAndTheNextAfterAnInterval) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  const absl::Time t0 = clock.Now();
  ASSERT_THAT(pacer.Acquire(t0, never), IsOk());
  EXPECT_EQ(pacer.next_grant_time(), t0 + kInterval);

  std::thread second([&] { EXPECT_THAT(pacer.Acquire(t0, never), IsOk()); });
  clock.BlockUntilWaiters(1);
  clock.Advance(kInterval - absl::Seconds(1));
  EXPECT_EQ(pacer.waiting(), 1);  // Still too early.
  clock.Advance(absl::Seconds(1));
  second.join();
  EXPECT_EQ(pacer.next_grant_time(), t0 + 2 * kInterval);
}

TEST(RequestPacer, ConcurrentCallersNeverStartCloserThanTheInterval) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  constexpr int kThreads = 4;
  constexpr int kRequestsEach = 5;
  absl::Mutex mu;
  std::vector<absl::Time> grants;
  clock.EnableAutoAdvance(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRequestsEach; ++r) {
        ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
        absl::MutexLock lock(&mu);
        grants.push_back(clock.Now());
      }
      clock.ParticipantDone();
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(grants.size(), kThreads * kRequestsEach);
  for (size_t i = 1; i < grants.size(); ++i) {
    EXPECT_EQ(grants[i] - grants[i - 1], kInterval) << "grant " << i;
  }
}

TEST(RequestPacer, WaiterInBackoffDoesNotHoldUpOthers) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  const absl::Time t0 = clock.Now();
  ASSERT_THAT(pacer.Acquire(t0, never), IsOk());  // next grant at t0+60s

  absl::Mutex mu;
  std::vector<int> order;
  // Arrives first but may not start before t0+300s.
  std::thread backing_off([&] {
    ASSERT_THAT(pacer.Acquire(t0 + absl::Seconds(300), never), IsOk());
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  clock.BlockUntilWaiters(1);
  std::thread ready([&] {
    ASSERT_THAT(pacer.Acquire(t0, never), IsOk());
    absl::MutexLock lock(&mu);
    order.push_back(2);
  });
  clock.BlockUntilWaiters(2);
  clock.Advance(kInterval);
  ready.join();
  EXPECT_EQ(clock.Now(), t0 + kInterval);
  clock.Advance(absl::Seconds(240));
  backing_off.join();
  EXPECT_THAT(order, ::testing::ElementsAre(2, 1));
}

TEST(ChooseNextWaiter, IdleOnlyIsNeverChosenWhileAnotherWaiterIsReady) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  PacerWaiters waiters;
  waiters.emplace(1, PacerWaiter{"watch", 9, now, /*idle_only=*/true});
  waiters.emplace(2, PacerWaiter{"caller", 0, now});
  EXPECT_EQ(ChooseNextWaiter(waiters, "", now), 2u);
  // A caller still in backoff is not ready: the idle slot goes to the watch.
  waiters.at(2).not_before = now + absl::Seconds(1);
  EXPECT_EQ(ChooseNextWaiter(waiters, "", now), 1u);
  waiters.erase(2);
  EXPECT_EQ(ChooseNextWaiter(waiters, "", now), 1u);
}

TEST(RequestPacer, CallerArrivingWhileAnIdleOnlyRequestWaitsIsGrantedFirst) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  absl::Mutex mu;
  std::vector<std::string> order;
  auto acquire = [&](PacerRequest request) {
    ASSERT_THAT(pacer.Acquire(request, never), IsOk());
    absl::MutexLock lock(&mu);
    order.push_back(request.caller);
  };
  // Ahead by arrival, name order and priority: only idle_only puts it last.
  PacerRequest watch{"a-watch", 1, absl::InfinitePast(), /*idle_only=*/true};
  std::thread idle(acquire, watch);
  clock.BlockUntilWaiters(1);
  std::thread caller(acquire, PacerRequest{"caller"});
  clock.BlockUntilWaiters(2);
  for (size_t i = 0; i < 2; ++i) {
    clock.Advance(kInterval);
    absl::MutexLock lock(&mu);
    auto granted = [&order, i] { return order.size() > i; };
    mu.Await(absl::Condition(&granted));
  }
  idle.join();
  caller.join();
  // The caller waited for no more than the one slot already in use.
  EXPECT_THAT(order, ::testing::ElementsAre("caller", "a-watch"));
}

// Two waiters, the idle-only "a-watch" (named by `ticket`) first and the
// caller "b"; `promote` runs once both wait. The callers in grant order.
std::vector<std::string> GrantOrderWithWatch(const std::function<void(RequestPacer&)>& promote,
                                             WaitTicket* ticket) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  EXPECT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  absl::Mutex mu;
  std::vector<std::string> order;
  auto acquire = [&](PacerRequest request, WaitTicket* t) {
    ASSERT_THAT(pacer.Acquire(request, never, t), IsOk());
    absl::MutexLock lock(&mu);
    order.push_back(request.caller);
  };
  std::thread watch(acquire, PacerRequest{"a-watch", 0, absl::InfinitePast(), true}, ticket);
  clock.BlockUntilWaiters(1);
  std::thread caller(acquire, PacerRequest{"b"}, nullptr);
  clock.BlockUntilWaiters(2);
  promote(pacer);
  for (size_t i = 0; i < 2; ++i) {
    clock.Advance(kInterval);
    absl::MutexLock lock(&mu);
    auto granted = [&order, i] { return order.size() > i; };
    mu.Await(absl::Condition(&granted));
  }
  watch.join();
  caller.join();
  return order;
}

TEST(RequestPacer, PromotedIdleOnlyRequestCompetesAsACallersRequest) {
  WaitTicket ticket;
  // Without the promotion the caller goes first (see above).
  EXPECT_THAT(GrantOrderWithWatch([](RequestPacer&) {}, &ticket),
              ::testing::ElementsAre("b", "a-watch"));
  WaitTicket promoted;
  // Promoted while it waits: arrival and name order put it first now.
  EXPECT_THAT(GrantOrderWithWatch([&](RequestPacer& p) { p.Promote(&promoted, 0); }, &promoted),
              ::testing::ElementsAre("a-watch", "b"));
  EXPECT_TRUE(promoted.promoted);
}

TEST(RequestPacer, PromotionBeforeTheRequestWaitsAppliesToIt) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  WaitTicket ticket;
  pacer.Promote(&ticket, 5);  // Between two requests of the watch's crawl.
  EXPECT_EQ(EffectiveRequest(PacerRequest{"w", 0, absl::InfinitePast(), true}, &ticket).priority,
            5);
  EXPECT_FALSE(
      EffectiveRequest(PacerRequest{"w", 0, absl::InfinitePast(), true}, &ticket).idle_only);
  // Ordinary requests are left as they are.
  EXPECT_EQ(EffectiveRequest(PacerRequest{"c", 2}, &ticket).priority, 2);
}

TEST(IdleSlotsBefore, CountsTheWholeIntervalsThatPassedUnused) {
  const absl::Time t = absl::FromUnixSeconds(1000);
  EXPECT_EQ(IdleSlotsBefore(t, t, kInterval), 0);
  EXPECT_EQ(IdleSlotsBefore(t, t + absl::Seconds(59), kInterval), 0);
  EXPECT_EQ(IdleSlotsBefore(t, t + absl::Seconds(150), kInterval), 2);
  EXPECT_EQ(IdleSlotsBefore(t, t - absl::Seconds(5), kInterval), 0);  // Waited for it.
  EXPECT_EQ(IdleSlotsBefore(absl::InfinitePast(), t, kInterval), 0);  // No grant before.
  EXPECT_EQ(IdleSlotsBefore(t, t + absl::Hours(1), absl::ZeroDuration()), 0);  // No pacing.
}

TEST(RequestPacer, EarlierArrivalGoesFirstAmongReadyWaiters) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
    clock.BlockUntilWaiters(i + 1);  // Arrivals in order 0, 1, 2.
  }
  for (int i = 0; i < 3; ++i) {
    clock.Advance(kInterval);
    absl::MutexLock lock(&mu);
    auto granted = [&order, i] { return static_cast<int>(order.size()) > i; };
    mu.Await(absl::Condition(&granted));
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2));
}

TEST(RequestPacer, CancelledWaiterReturnsCancelledAndSpendsNothing) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never, cancel;
  const absl::Time t0 = clock.Now();
  ASSERT_THAT(pacer.Acquire(t0, never), IsOk());
  std::thread waiter([&] {
    EXPECT_THAT(pacer.Acquire(t0, cancel), StatusIs(absl::StatusCode::kCancelled));
  });
  clock.BlockUntilWaiters(1);
  cancel.Cancel();
  waiter.join();
  EXPECT_EQ(pacer.waiting(), 0);
  EXPECT_EQ(pacer.next_grant_time(), t0 + kInterval);
}

TEST(RequestPacer, AlreadyCancelledTokenFailsAtOnce) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken cancel;
  cancel.Cancel();
  EXPECT_THAT(pacer.Acquire(clock.Now(), cancel),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST(RequestPacer, ThrottledPushesTheNextGrantAWholeIntervalOut) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  clock.Advance(absl::Seconds(50));
  pacer.OnThrottled();
  EXPECT_EQ(pacer.next_grant_time(), clock.Now() + kInterval);
}

TEST(RequestPacer, ThrottledWithoutRetryAfterDoublesTheIntervalUpToItsMaximum) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval, 4 * kInterval);
  pacer.OnThrottled();
  EXPECT_EQ(pacer.interval(), 2 * kInterval);
  pacer.OnThrottled();
  EXPECT_EQ(pacer.interval(), 4 * kInterval);
  pacer.OnThrottled();
  EXPECT_EQ(pacer.interval(), 4 * kInterval);
  // The default maximum is eight intervals.
  RequestPacer defaulted(&clock, kInterval);
  EXPECT_EQ(defaulted.max_interval(), 8 * kInterval);
}

TEST(RequestPacer, RaisedIntervalStepsBackAfterARunOfAnswers) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  pacer.OnThrottled();
  pacer.OnThrottled();
  ASSERT_EQ(pacer.interval(), 4 * kInterval);
  for (int i = 1; i < RequestPacer::kSuccessesToStepBack; ++i) pacer.OnAnswered();
  EXPECT_EQ(pacer.interval(), 4 * kInterval);
  pacer.OnAnswered();
  EXPECT_EQ(pacer.interval(), 2 * kInterval);
  for (int i = 0; i < RequestPacer::kSuccessesToStepBack; ++i) pacer.OnAnswered();
  EXPECT_EQ(pacer.interval(), kInterval);
  for (int i = 0; i < 3 * RequestPacer::kSuccessesToStepBack; ++i) pacer.OnAnswered();
  EXPECT_EQ(pacer.interval(), kInterval);
}

TEST(RequestPacer, GrantsAreSpacedByTheRaisedInterval) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  const absl::Time t0 = clock.Now();
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  pacer.OnThrottled();
  clock.Advance(kInterval);
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  EXPECT_EQ(pacer.next_grant_time(), t0 + kInterval + 2 * kInterval);
}

TEST(RequestPacer, ThrottledWithRetryAfterHoldsEveryoneBackThatLongAndSlowsDown) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  pacer.OnThrottled(absl::Minutes(5));
  EXPECT_EQ(pacer.next_grant_time(), clock.Now() + absl::Minutes(5));
  EXPECT_EQ(pacer.interval(), 2 * kInterval);
  pacer.OnThrottled(absl::Seconds(1));  // Never sooner than an interval.
  EXPECT_EQ(pacer.next_grant_time(), clock.Now() + absl::Minutes(5));
  EXPECT_EQ(pacer.interval(), 4 * kInterval);
}

// Starts `count` threads that each acquire once for `caller` at `priority`,
// appending the caller's name to `order` when granted, one by one so that
// arrival order is known.
void StartWaiters(RequestPacer& pacer, FakeClock& clock, const std::string& caller,
                  int priority, int count, absl::Mutex& mu, std::vector<std::string>& order,
                  std::vector<std::thread>& threads) {
  static const CancellationToken* const never = new CancellationToken();
  for (int i = 0; i < count; ++i) {
    const int before = clock.waiters();
    threads.emplace_back([&, caller, priority] {
      PacerRequest request;
      request.caller = caller;
      request.priority = priority;
      ASSERT_THAT(pacer.Acquire(request, *never), IsOk());
      absl::MutexLock lock(&mu);
      order.push_back(caller);
    });
    clock.BlockUntilWaiters(before + 1);
  }
}

// Advances one interval at a time until `n` grants happened.
void GrantAll(FakeClock& clock, absl::Mutex& mu, std::vector<std::string>& order, size_t n) {
  for (size_t granted = order.size(); granted < n; ++granted) {
    clock.Advance(kInterval);
    absl::MutexLock lock(&mu);
    auto done = [&order, granted] { return order.size() > granted; };
    mu.Await(absl::Condition(&done));
  }
}

TEST(RequestPacer, CallersTakeTurnsSoALongCrawlDoesNotStarveOthers) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());  // Next grant in 60 s.
  absl::Mutex mu;
  std::vector<std::string> order;
  std::vector<std::thread> threads;
  StartWaiters(pacer, clock, "crawler", 0, 4, mu, order, threads);
  StartWaiters(pacer, clock, "oneshot", 0, 1, mu, order, threads);
  StartWaiters(pacer, clock, "etl", 0, 2, mu, order, threads);
  GrantAll(clock, mu, order, 7);
  for (auto& t : threads) t.join();
  EXPECT_THAT(order, ::testing::ElementsAre("crawler", "etl", "oneshot", "crawler", "etl",
                                            "crawler", "crawler"));
}

TEST(RequestPacer, HigherPriorityGoesFirst) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  absl::Mutex mu;
  std::vector<std::string> order;
  std::vector<std::thread> threads;
  StartWaiters(pacer, clock, "bulk", 0, 2, mu, order, threads);
  StartWaiters(pacer, clock, "urgent", 5, 1, mu, order, threads);
  GrantAll(clock, mu, order, 3);
  for (auto& t : threads) t.join();
  EXPECT_THAT(order, ::testing::ElementsAre("urgent", "bulk", "bulk"));
}

TEST(RequestPacer, PositionOfEstimatesTheWait) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  CancellationToken never, cancel;
  ASSERT_THAT(pacer.Acquire(clock.Now(), never), IsOk());
  std::vector<std::thread> threads;
  WaitTicket tickets[3];
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      PacerRequest request;
      request.caller = "c";
      EXPECT_THAT(pacer.Acquire(request, cancel, &tickets[i]),
                  StatusIs(absl::StatusCode::kCancelled));
    });
    clock.BlockUntilWaiters(i + 1);
  }
  clock.Advance(absl::Seconds(20));
  for (int i = 0; i < 3; ++i) {
    auto position = pacer.PositionOf(tickets[i].id);
    ASSERT_TRUE(position.has_value()) << i;
    EXPECT_EQ(position->ahead, i);
    EXPECT_EQ(position->estimated_wait, absl::Seconds(40) + i * kInterval);
  }
  cancel.Cancel();
  for (auto& t : threads) t.join();
  EXPECT_FALSE(pacer.PositionOf(tickets[0].id).has_value());
}

}  // namespace
}  // namespace followgate

namespace followgate {
namespace {

TEST(RequestPacer, RestoredNextGrantHoldsTheFirstRequestOfARestartedProcess) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  const absl::Time t0 = clock.Now();
  pacer.RestoreNextGrant(t0 + absl::Seconds(20));  // A request started 40 s ago.
  CancellationToken never;
  std::thread first([&] { EXPECT_THAT(pacer.Acquire(t0, never), IsOk()); });
  clock.BlockUntilWaiters(1);
  clock.Advance(absl::Seconds(19));
  EXPECT_EQ(pacer.waiting(), 1);  // Still inside the previous process's interval.
  clock.Advance(absl::Seconds(1));
  first.join();
  EXPECT_EQ(pacer.next_grant_time(), t0 + absl::Seconds(20) + kInterval);
}

TEST(RequestPacer, TellsItsListenerEveryNewNextGrant) {
  FakeClock clock;
  RequestPacer pacer(&clock, kInterval);
  std::vector<absl::Time> told;
  pacer.SetNextGrantListener([&told](absl::Time t) { told.push_back(t); });
  CancellationToken never;
  const absl::Time t0 = clock.Now();
  ASSERT_THAT(pacer.Acquire(t0, never), IsOk());
  pacer.OnThrottled(absl::Seconds(300));
  EXPECT_THAT(told, ::testing::ElementsAre(t0 + kInterval, t0 + absl::Seconds(300)));
}

}  // namespace
}  // namespace followgate
