#include "server/follows/fleet_budget.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/base/status_macros.h"
#include "server/follows/follows_fetcher.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_http_client.h"
#include "server/upstream/linkedin_client.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::PostgresServer;
using ::followgate::testing::PostgresSuiteTest;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;

// Cancels its token if the test has not finished with it within `limit`:
// a waiter that should have been granted then fails with CANCELLED instead
// of hanging the test.
class Watchdog {
 public:
  explicit Watchdog(absl::Duration limit)
      : thread_([this, limit] {
          if (!done_.WaitForNotificationWithTimeout(limit)) token_.Cancel();
        }) {}
  ~Watchdog() {
    done_.Notify();
    thread_.join();
  }
  const CancellationToken& token() const { return token_; }

 private:
  CancellationToken token_;
  absl::Notification done_;
  std::thread thread_;
};

// A grant as a test thread saw it.
struct Grant {
  std::string caller;
  absl::Time at;  // The database's time.
};

// One cluster for the whole binary; each test uses a budget name of its own.
class FleetBudgetTest : public PostgresSuiteTest {
 protected:
  // One replica's view of the budget `name`.
  static std::unique_ptr<FleetBudget> Replica(
      const std::string& name, const std::string& replica, absl::Duration interval,
      absl::Duration max_interval = absl::ZeroDuration()) {
    FleetBudgetOptions options;
    options.url = server_->url();
    options.name = name;
    options.replica_id = replica;
    options.interval = interval;
    options.max_interval = max_interval;
    options.recheck_interval = absl::Milliseconds(100);
    options.waiter_ttl = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<FleetBudget>> budget = FleetBudget::Create(options);
    EXPECT_THAT(budget, IsOk());
    return budget.ok() ? std::move(*budget) : nullptr;
  }

  // Runs `sql` on a connection of its own (the server may have restarted).
  static absl::StatusOr<PgResult> Sql(const std::string& sql,
                                      std::vector<PgParam> params = {}) {
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(server_->url());
    if (!db.ok()) return db.status();
    return (*db)->Query(sql, params);
  }

  static int64_t WaiterCount(const std::string& name) {
    absl::StatusOr<PgResult> count =
        Sql("SELECT count(*) FROM fleet_budget_waiters WHERE budget = $1", {name});
    EXPECT_THAT(count, IsOk());
    return count.ok() ? count->rows[0].Int(0) : -1;
  }

  // Waits until `n` requests wait for the budget (their rows exist).
  static void AwaitWaiters(const std::string& name, int64_t n) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (WaiterCount(name) != n) {
      ASSERT_LT(absl::Now(), give_up) << "never saw " << n << " waiters for " << name;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  // Waits until no waiter of budget `name` is idle-only.
  static void AwaitNoIdleOnlyWaiter(const std::string& name) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    for (;;) {
      absl::StatusOr<PgResult> idle = Sql(
          "SELECT count(*) FROM fleet_budget_waiters WHERE budget = $1 AND idle_only", {name});
      ASSERT_THAT(idle, IsOk());
      if (idle->rows.at(0).Int(0) == 0) return;
      ASSERT_LT(absl::Now(), give_up) << "the promotion never reached the waiter's row";
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  // Waits until the Acquire holding `ticket` waits (its row exists).
  static void AwaitTicket(const WaitTicket& ticket) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (ticket.id == 0) {
      ASSERT_LT(absl::Now(), give_up) << "the waiter never queued";
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  // No grant until Release(), whoever waits; `last_caller` had the last one.
  static void Hold(const std::string& name, const std::string& last_caller) {
    ASSERT_THAT(Sql("UPDATE fleet_budgets SET next_grant = clock_timestamp() + interval '1 hour', "
                    "last_caller = $2 WHERE name = $1",
                    {name, last_caller}),
                IsOk());
  }
  static void Release(const std::string& name) {
    ASSERT_THAT(Sql("UPDATE fleet_budgets SET next_grant = clock_timestamp() WHERE name = $1",
                    {name}),
                IsOk());
  }

  // The budget's row: next_grant (in microseconds) and last_caller.
  static std::pair<int64_t, std::string> BudgetRow(const std::string& name) {
    absl::StatusOr<PgResult> row =
        Sql("SELECT (extract(epoch FROM next_grant) * 1000000)::bigint, last_caller "
            "FROM fleet_budgets WHERE name = $1",
            {name});
    EXPECT_THAT(row, IsOk());
    if (!row.ok() || row->rows.empty()) return {0, ""};
    return {row->rows[0].Int(0), row->rows[0].Text(1)};
  }

};


PacerRequest Request(const std::string& caller, int priority = 0) {
  PacerRequest request;
  request.caller = caller;
  request.priority = priority;
  return request;
}

// Acquires `request` on `budget` in a thread, appending the grant to `grants`.
std::thread AcquireInThread(FleetBudget* budget, PacerRequest request, const Watchdog& watchdog,
                            absl::Mutex* mu, std::vector<Grant>* grants,
                            WaitTicket* ticket = nullptr) {
  return std::thread([=, &watchdog] {
    absl::Time at;
    const absl::Status status = budget->Acquire(request, watchdog.token(), &at, ticket);
    EXPECT_THAT(status, IsOk());
    if (!status.ok()) return;
    absl::MutexLock lock(mu);
    grants->push_back(Grant{request.caller, at});
  });
}

std::vector<std::string> CallersInGrantOrder(std::vector<Grant> grants) {
  std::sort(grants.begin(), grants.end(),
            [](const Grant& a, const Grant& b) { return a.at < b.at; });
  std::vector<std::string> callers;
  for (const Grant& grant : grants) callers.push_back(grant.caller);
  return callers;
}

TEST_F(FleetBudgetTest, GrantsAcrossReplicasAreNeverCloserThanTheInterval) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("spacing", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("spacing", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  constexpr int kThreadsPerReplica = 2;
  constexpr int kGrantsPerThread = 3;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerReplica; ++t) {
    FleetBudget* budget = t % 2 == 0 ? one.get() : two.get();
    threads.emplace_back([&, budget, t] {
      for (int i = 0; i < kGrantsPerThread; ++i) {
        absl::Time at;
        ASSERT_THAT(budget->Acquire(Request(absl::StrCat("caller", t)), watchdog.token(), &at),
                    IsOk());
        absl::MutexLock lock(&mu);
        grants.push_back(Grant{"", at});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  ASSERT_EQ(grants.size(), 2u * kThreadsPerReplica * kGrantsPerThread);
  std::sort(grants.begin(), grants.end(),
            [](const Grant& a, const Grant& b) { return a.at < b.at; });
  for (size_t i = 1; i < grants.size(); ++i) {
    EXPECT_GE(grants[i].at - grants[i - 1].at, interval) << "grants " << i - 1 << " and " << i;
  }
  EXPECT_EQ(WaiterCount("spacing"), 0);
}

TEST_F(FleetBudgetTest, CallersTakeTurnsAcrossReplicas) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("turns", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("turns", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Hold("turns", "Z");
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  std::vector<std::thread> threads;
  // A crawl of four pages on one replica, queued first...
  for (int i = 0; i < 4; ++i) {
    threads.push_back(AcquireInThread(one.get(), Request("A"), watchdog, &mu, &grants));
  }
  AwaitWaiters("turns", 4);
  // ...and one page for another caller on the other replica.
  threads.push_back(AcquireInThread(two.get(), Request("B"), watchdog, &mu, &grants));
  AwaitWaiters("turns", 5);
  Release("turns");
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(CallersInGrantOrder(grants), ElementsAre("A", "B", "A", "A", "A"));
}

TEST_F(FleetBudgetTest, HigherPriorityGoesFirstAcrossReplicas) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("priority", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("priority", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  // Arrival order and round robin (after "Z", "A" comes first) both favour
  // the low-priority request.
  Hold("priority", "Z");
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  std::vector<std::thread> threads;
  threads.push_back(AcquireInThread(one.get(), Request("A", 0), watchdog, &mu, &grants));
  AwaitWaiters("priority", 1);
  threads.push_back(AcquireInThread(two.get(), Request("B", 1), watchdog, &mu, &grants));
  AwaitWaiters("priority", 2);
  Release("priority");
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(CallersInGrantOrder(grants), ElementsAre("B", "A"));
}

TEST_F(FleetBudgetTest, IdleOnlyWaiterGoesAfterACallerOfAnotherReplica) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("idle", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("idle", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  // Arrival, round robin and priority all favour the watch.
  Hold("idle", "Z");
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  std::vector<std::thread> threads;
  PacerRequest watch = Request("A", 1);
  watch.idle_only = true;
  threads.push_back(AcquireInThread(one.get(), watch, watchdog, &mu, &grants));
  AwaitWaiters("idle", 1);
  threads.push_back(AcquireInThread(two.get(), Request("B"), watchdog, &mu, &grants));
  AwaitWaiters("idle", 2);
  Release("idle");
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(CallersInGrantOrder(grants), ElementsAre("B", "A"));
}

TEST_F(FleetBudgetTest, PromotedIdleOnlyWaiterCompetesAsACallersRequest) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("promote", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("promote", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Hold("promote", "Z");
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  std::vector<std::thread> threads;
  PacerRequest watch = Request("A");
  watch.idle_only = true;
  WaitTicket ticket;
  threads.push_back(AcquireInThread(one.get(), watch, watchdog, &mu, &grants, &ticket));
  AwaitWaiters("promote", 1);
  threads.push_back(AcquireInThread(two.get(), Request("B"), watchdog, &mu, &grants));
  AwaitWaiters("promote", 2);
  // A caller joined the watch's crawl on replica one: arrival and round
  // robin decide now (without this, B goes first: see above).
  one->Promote(&ticket, 0);
  AwaitNoIdleOnlyWaiter("promote");
  Release("promote");
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(CallersInGrantOrder(grants), ElementsAre("A", "B"));
}

TEST_F(FleetBudgetTest, CancelledWaiterSpendsNothingAndLeavesTheQueue) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("cancel", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("cancel", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Hold("cancel", "Z");
  const std::pair<int64_t, std::string> held = BudgetRow("cancel");

  // "A" is next in turn, and gives up.
  CancellationToken cancel;
  absl::Status cancelled;
  std::thread waiter([&] { cancelled = one->Acquire(Request("A"), cancel); });
  AwaitWaiters("cancel", 1);
  Watchdog watchdog(absl::Seconds(20));
  absl::Mutex mu;
  std::vector<Grant> grants;
  std::thread other = AcquireInThread(two.get(), Request("B"), watchdog, &mu, &grants);
  AwaitWaiters("cancel", 2);
  cancel.Cancel();
  waiter.join();
  EXPECT_THAT(cancelled, StatusIs(absl::StatusCode::kCancelled));
  AwaitWaiters("cancel", 1);
  EXPECT_EQ(BudgetRow("cancel"), held);

  // A request cancelled before it asks leaves no row either.
  CancellationToken already;
  already.Cancel();
  EXPECT_THAT(one->Acquire(Request("C"), already), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(WaiterCount("cancel"), 1);

  Release("cancel");
  other.join();
  EXPECT_THAT(CallersInGrantOrder(grants), ElementsAre("B"));
  EXPECT_EQ(WaiterCount("cancel"), 0);
}

// A stream that fails while its request waits cancels it: its row goes
// before Acquire returns, so the next caller is not held until the row's
// alive_until (waiter_ttl) passes.
TEST_F(FleetBudgetTest, FailedStreamsWaiterLeavesBeforeAcquireReturns) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> one = Replica("failed", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("failed", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Hold("failed", "Z");
  CancellationToken cancel;
  absl::Status cancelled;
  std::thread waiter([&] { cancelled = one->Acquire(Request("A"), cancel); });
  AwaitWaiters("failed", 1);
  cancel.Cancel();
  waiter.join();
  EXPECT_THAT(cancelled, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(WaiterCount("failed"), 0);  // At once, not after waiter_ttl.
  Release("failed");

  // The next caller, on the other replica, is granted well within the TTL.
  Watchdog watchdog(absl::Seconds(20));
  const absl::Time start = absl::Now();
  EXPECT_THAT(two->Acquire(Request("B"), watchdog.token()), IsOk());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));  // waiter_ttl is 2 s.
}

TEST_F(FleetBudgetTest, DeadReplicasWaiterDoesNotBlockOthers) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> budget = Replica("dead", "r1", interval);
  ASSERT_NE(budget, nullptr);
  // A replica died while it waited first, at a higher priority: its row
  // was last renewed long ago.
  ASSERT_THAT(Sql("INSERT INTO fleet_budget_waiters "
                  "(budget, replica, caller, priority, not_before, alive_until) VALUES "
                  "('dead', 'gone', 'A', 9, 'epoch', clock_timestamp() - interval '1 second')"),
              IsOk());

  Watchdog watchdog(absl::Seconds(10));
  EXPECT_THAT(budget->Acquire(Request("B"), watchdog.token()), IsOk());
  EXPECT_EQ(WaiterCount("dead"), 0);
  EXPECT_EQ(BudgetRow("dead").second, "B");
}

TEST_F(FleetBudgetTest, DatabaseStoppedWhileWaitingIsUnavailableAndRestartedWorks) {
  const absl::Duration interval = absl::Milliseconds(200);
  std::unique_ptr<FleetBudget> budget = Replica("restart", "r1", interval);
  ASSERT_NE(budget, nullptr);
  Watchdog watchdog(absl::Seconds(10));
  PacerRequest later = Request("A");
  later.not_before = absl::Now() + absl::Hours(1);  // In backoff: it waits.
  absl::Status waited;
  std::thread waiter([&] { waited = budget->Acquire(later, watchdog.token()); });
  AwaitWaiters("restart", 1);

  ASSERT_THAT(server_->Stop(), IsOk());
  waiter.join();
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_THAT(server_->Start(), IsOk());
  Watchdog again(absl::Seconds(10));
  EXPECT_THAT(budget->Acquire(Request("B"), again.token()), IsOk());
}

TEST_F(FleetBudgetTest, PositionOfCountsWaitersAheadAcrossReplicas) {
  const absl::Duration interval = absl::Seconds(10);
  std::unique_ptr<FleetBudget> one = Replica("position", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("position", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  Hold("position", "Z");
  CancellationToken cancel;
  WaitTicket first, second;
  std::thread a([&] { one->Acquire(Request("A"), cancel, nullptr, &first).IgnoreError(); });
  AwaitTicket(first);
  std::thread b([&] { two->Acquire(Request("B"), cancel, nullptr, &second).IgnoreError(); });
  AwaitTicket(second);

  // Asked of either replica: "A" is next, "B" one interval later.
  absl::StatusOr<std::optional<QueuePosition>> of_a = two->ReadPosition(first.id);
  absl::StatusOr<std::optional<QueuePosition>> of_b = one->ReadPosition(second.id);
  ASSERT_THAT(of_a, IsOk());
  ASSERT_THAT(of_b, IsOk());
  ASSERT_TRUE(of_a->has_value() && of_b->has_value());
  EXPECT_EQ((*of_a)->ahead, 0);
  EXPECT_EQ((*of_b)->ahead, 1);
  EXPECT_GT((*of_a)->estimated_wait, absl::Minutes(59));  // Held for an hour.
  EXPECT_NEAR(absl::ToDoubleSeconds((*of_b)->estimated_wait - (*of_a)->estimated_wait),
              absl::ToDoubleSeconds(interval), 2.0);

  cancel.Cancel();
  a.join();
  b.join();
  EXPECT_EQ(first.id, 0u);
  absl::StatusOr<std::optional<QueuePosition>> gone = one->ReadPosition(second.id);
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(FleetBudgetTest, ThrottleOnOneReplicaDoublesTheIntervalTheOtherSeesUpToTheMax) {
  std::unique_ptr<FleetBudget> one = Replica("doubling", "r1", absl::Seconds(1), absl::Seconds(4));
  std::unique_ptr<FleetBudget> two = Replica("doubling", "r2", absl::Seconds(1), absl::Seconds(4));
  ASSERT_TRUE(one != nullptr && two != nullptr);
  EXPECT_EQ(two->interval(), absl::Seconds(1));
  one->OnThrottled();
  EXPECT_EQ(two->interval(), absl::Seconds(2));
  // Nothing starts for a whole interval (the one in force at the 429).
  EXPECT_GT(two->next_grant_time() - Clock::Real()->Now(), absl::Milliseconds(500));
  one->OnThrottled();
  one->OnThrottled();
  EXPECT_EQ(two->interval(), absl::Seconds(4));
  EXPECT_EQ(one->interval(), absl::Seconds(4));
}

TEST_F(FleetBudgetTest, GrantsAfterAThrottleAreTheRaisedIntervalApart) {
  const absl::Duration interval = absl::Milliseconds(100);
  std::unique_ptr<FleetBudget> one = Replica("raised", "r1", interval);
  std::unique_ptr<FleetBudget> two = Replica("raised", "r2", interval);
  ASSERT_TRUE(one != nullptr && two != nullptr);
  one->OnThrottled();
  Watchdog watchdog(absl::Seconds(20));
  absl::Time first, second;
  ASSERT_THAT(one->Acquire(Request("A"), watchdog.token(), &first), IsOk());
  ASSERT_THAT(two->Acquire(Request("B"), watchdog.token(), &second), IsOk());
  EXPECT_GE(second - first, 2 * interval);
}

TEST_F(FleetBudgetTest, RetryAfterHoldsEveryReplica) {
  std::unique_ptr<FleetBudget> one = Replica("retry-after", "r1", absl::Milliseconds(100));
  std::unique_ptr<FleetBudget> two = Replica("retry-after", "r2", absl::Milliseconds(100));
  ASSERT_TRUE(one != nullptr && two != nullptr);
  one->OnThrottled(absl::Seconds(30));
  for (FleetBudget* budget : {one.get(), two.get()}) {
    const absl::Duration held = budget->next_grant_time() - Clock::Real()->Now();
    EXPECT_GT(held, absl::Seconds(29));
    EXPECT_LE(held, absl::Seconds(30));
  }
  // Ready at once otherwise, the other replica's request is not granted.
  Watchdog watchdog(absl::Milliseconds(500));
  EXPECT_THAT(two->Acquire(Request("B"), watchdog.token()),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(FleetBudgetTest, TenAnswersInARowStepTheIntervalBack) {
  std::unique_ptr<FleetBudget> one = Replica("step-back", "r1", absl::Seconds(1));
  std::unique_ptr<FleetBudget> two = Replica("step-back", "r2", absl::Seconds(1));
  ASSERT_TRUE(one != nullptr && two != nullptr);
  one->OnThrottled();
  one->OnThrottled();
  ASSERT_EQ(two->interval(), absl::Seconds(4));
  // The answers of both replicas count towards the same run.
  for (int i = 1; i < RequestPacer::kSuccessesToStepBack; ++i) {
    (i % 2 == 0 ? one : two)->OnAnswered();
  }
  EXPECT_EQ(one->interval(), absl::Seconds(4));
  two->OnAnswered();
  EXPECT_EQ(one->interval(), absl::Seconds(2));
  // A 429 starts the run again.
  for (int i = 1; i < RequestPacer::kSuccessesToStepBack; ++i) one->OnAnswered();
  two->OnThrottled();
  EXPECT_EQ(one->interval(), absl::Seconds(4));
  one->OnAnswered();
  EXPECT_EQ(one->interval(), absl::Seconds(4));
}

TEST_F(FleetBudgetTest, ThrottleAtTheMaxStartsTheRunOfAnswersAgain) {
  std::unique_ptr<FleetBudget> one = Replica("max-run", "r1", absl::Seconds(1), absl::Seconds(2));
  ASSERT_TRUE(one != nullptr);
  one->OnThrottled();
  ASSERT_EQ(one->interval(), absl::Seconds(2));
  for (int i = 1; i < RequestPacer::kSuccessesToStepBack; ++i) one->OnAnswered();
  one->OnThrottled(absl::Seconds(1));  // Already at the max: no change of interval.
  one->OnAnswered();
  EXPECT_EQ(one->interval(), absl::Seconds(2));
}

// Records the database's time of every grant that goes through it.
class GrantRecorder final : public UpstreamBudget {
 public:
  GrantRecorder(FleetBudget* budget, absl::Mutex* mu, std::vector<Grant>* grants)
      : budget_(budget), mu_(mu), grants_(grants) {}

  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       WaitTicket* ticket) override {
    absl::Time at;
    FG_RETURN_IF_ERROR(budget_->Acquire(request, cancel, &at, ticket));
    absl::MutexLock lock(mu_);
    grants_->push_back(Grant{request.caller, at});
    return absl::OkStatus();
  }
  void OnThrottled() override { budget_->OnThrottled(); }
  void OnThrottled(absl::Duration retry_after) override { budget_->OnThrottled(retry_after); }
  void OnAnswered() override { budget_->OnAnswered(); }
  void Promote(WaitTicket* ticket, int priority) override { budget_->Promote(ticket, priority); }
  absl::Duration interval() const override { return budget_->interval(); }
  absl::Time next_grant_time() const override { return budget_->next_grant_time(); }
  std::optional<QueuePosition> PositionOf(uint64_t ticket) const override {
    return budget_->PositionOf(ticket);
  }

 private:
  FleetBudget* const budget_;
  absl::Mutex* const mu_;
  std::vector<Grant>* const grants_;
};

// A page of one follower and `cursor` as next cursor ("" for none).
std::string OneFollowerPage(const std::string& page_urn, int follower,
                            const std::string& cursor) {
  const std::string metadata =
      cursor.empty() ? "{}" : absl::StrCat(R"({"nextPaginationCursor":")", cursor, R"("})");
  return absl::StrCat(R"({"paging":{"start":0,"count":1000,"links":[],"total":3},)",
                      R"("metadata":)", metadata, R"(,"elements":[{"follower":"urn:li:person:m)",
                      follower, R"(","followee":")", page_urn,
                      R"(","edgeType":"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE","lastModifiedAt":1}]})");
}

// One replica's fetcher on its own scripted upstream and its own FleetBudget.
struct FetchingReplica {
  FetchingReplica(std::unique_ptr<FleetBudget> fleet_budget, const std::string& page_urn,
                  absl::Mutex* mu, std::vector<Grant>* grants)
      : budget(std::move(fleet_budget)),
        recorder(budget.get(), mu, grants),
        client(&http, Clock::Real(), ClientOptions()),
        fetcher(&client, &recorder, Clock::Real(), {}) {
    query.urn = page_urn;
    query.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
    http.Expect(client.RequestUrl(query, ""), 200, OneFollowerPage(page_urn, 0, "p2"));
    http.Expect(client.RequestUrl(query, "p2"), 200, OneFollowerPage(page_urn, 1, "p3"));
    http.Expect(client.RequestUrl(query, "p3"), 200, OneFollowerPage(page_urn, 2, ""));
  }
  static LinkedInClientOptions ClientOptions() {
    LinkedInClientOptions options;
    options.base_url = "http://li";
    options.access_token = "token";
    return options;
  }

  std::unique_ptr<FleetBudget> budget;
  GrantRecorder recorder;
  FakeHttpClient http;
  LinkedInClient client;
  FollowsFetcher fetcher;
  FollowsQuery query;
  int pages = 0;
};

TEST_F(FleetBudgetTest, FetchersOnTwoReplicasShareTheIntervalByTheDatabasesClock) {
  const absl::Duration interval = absl::Milliseconds(100);
  absl::Mutex mu;
  std::vector<Grant> grants;
  FetchingReplica one(Replica("fetchers", "r1", interval), "urn:li:organizationalPage:1", &mu,
                      &grants);
  FetchingReplica two(Replica("fetchers", "r2", interval), "urn:li:organizationalPage:2", &mu,
                      &grants);
  ASSERT_TRUE(one.budget != nullptr && two.budget != nullptr);
  Watchdog watchdog(absl::Seconds(20));
  std::vector<std::thread> threads;
  for (FetchingReplica* replica : {&one, &two}) {
    threads.emplace_back([&watchdog, replica] {
      Requester requester;
      requester.caller = replica->query.urn;
      EXPECT_THAT(replica->fetcher.FetchSequence(replica->query, "", watchdog.token(), requester,
                                                 [replica](StreamedPage) {
                                                   ++replica->pages;
                                                   return absl::OkStatus();
                                                 }),
                  IsOk());
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(one.pages, 3);
  EXPECT_EQ(two.pages, 3);
  ASSERT_EQ(grants.size(), 6u);
  std::sort(grants.begin(), grants.end(),
            [](const Grant& a, const Grant& b) { return a.at < b.at; });
  for (size_t i = 1; i < grants.size(); ++i) {
    EXPECT_GE(grants[i].at - grants[i - 1].at, interval) << "grants " << i - 1 << " and " << i;
  }
}

// --linkedin_min_interval=0s means no pacing in a fleet as in one process.
TEST_F(FleetBudgetTest, ZeroIntervalGrantsBackToBack) {
  std::unique_ptr<FleetBudget> one = Replica("unpaced", "r1", absl::ZeroDuration());
  ASSERT_TRUE(one != nullptr);
  Watchdog watchdog(absl::Seconds(20));
  const absl::Time start = absl::Now();
  for (int i = 0; i < 5; ++i) {
    absl::Time at;
    ASSERT_THAT(one->Acquire(Request("caller"), watchdog.token(), &at), IsOk());
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(WaiterCount("unpaced"), 0);
}

TEST_F(FleetBudgetTest, CreateRejectsOptionsItCannotHonour) {
  FleetBudgetOptions options;
  options.url = server_->url();
  EXPECT_THAT(FleetBudget::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.name = "options";
  options.interval = -absl::Seconds(1);
  EXPECT_THAT(FleetBudget::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.interval = absl::Seconds(1);
  options.waiter_ttl = options.recheck_interval;
  EXPECT_THAT(FleetBudget::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace followgate
