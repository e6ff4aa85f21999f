// One crawl per query for a fleet: two hubs, each with its own registry and
// store, on one PostgreSQL database, against scripted LinkedIns.
#include "server/follows/pg_crawl_registry.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/follows/request_pacer.h"
#include "server/follows/snapshot_hub.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
constexpr auto kLeadAgain = CrawlRegistry::IfOutcomeRecorded::kLeadAgain;
constexpr auto kLeaveIt = CrawlRegistry::IfOutcomeRecorded::kLeaveIt;

constexpr char kPage[] = "urn:li:organizationalPage:42";
constexpr int kMembers = 4500;  // 5 upstream pages of 1000.

// LinkedIn's answer for `request`: 1000 followers per page, the cursor is
// the next offset.
HttpResponse FakeLinkedIn(const HttpRequest& request) {
  int offset = 0;
  if (size_t at = request.url.find("paginationCursor=o"); at != std::string::npos) {
    EXPECT_TRUE(absl::SimpleAtoi(request.url.substr(at + 18), &offset));
  }
  std::string elements;
  for (int i = offset; i < std::min(kMembers, offset + 1000); ++i) {
    absl::StrAppend(&elements, i == offset ? "" : ",", R"({"follower":"urn:li:person:m)", i,
                    R"(","followee":")", kPage, R"(","lastModifiedAt":7})");
  }
  const bool more = offset + 1000 < kMembers;
  HttpResponse response;
  response.status_code = 200;
  response.body = absl::StrCat(
      R"({"paging":{"total":)", kMembers, R"(},"metadata":)",
      more ? absl::StrCat(R"({"nextPaginationCursor":"o)", offset + 1000, R"("})") : "{}",
      R"(,"elements":[)", elements, "]}");
  return response;
}

// The cursor a request asked for ("" for the first page).
std::string CursorOf(const HttpRequest& request) {
  size_t at = request.url.find("paginationCursor=");
  if (at == std::string::npos) return "";
  return request.url.substr(at + 17, request.url.find('&', at) - at - 17);
}

FollowsQuery Query() {
  return {FollowsQuery::Finder::kFollowee, kPage, v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE};
}

// Passes every call on, and tells when a TryLead found another leader.
class WatchedRegistry final : public CrawlRegistry {
 public:
  explicit WatchedRegistry(CrawlRegistry* inner) : inner_(inner) {}
  absl::StatusOr<bool> TryLead(int64_t id, IfOutcomeRecorded recorded) override {
    absl::StatusOr<bool> lead = inner_->TryLead(id, recorded);
    if (lead.ok() && !*lead && !followed.HasBeenNotified()) followed.Notify();
    if (lead.ok() && *lead && !led.HasBeenNotified()) led.Notify();
    return lead;
  }
  void CallerWaits(int64_t id, int priority) override { inner_->CallerWaits(id, priority); }
  void WhenCallerWaits(int64_t id, std::function<void(int)> promote) override {
    inner_->WhenCallerWaits(id, std::move(promote));
  }
  bool StillLeading(int64_t id) override {
    const bool leading = inner_->StillLeading(id);
    if (!leading && !lost.HasBeenNotified()) lost.Notify();
    return leading;
  }
  void StopLeading(int64_t id, const absl::Status& outcome) override {
    inner_->StopLeading(id, outcome);
  }
  absl::StatusOr<absl::Status> Outcome(int64_t id) override { return inner_->Outcome(id); }
  absl::StatusOr<bool> CrawlLive(int64_t id) override { return inner_->CrawlLive(id); }
  void Pin(int64_t id) override { inner_->Pin(id); }
  void Unpin(int64_t id) override { inner_->Unpin(id); }
  void WaitForChange(int64_t id, absl::Time until, const CancellationToken& cancel) override {
    inner_->WaitForChange(id, until, cancel);
  }

  absl::Notification followed;
  absl::Notification led;
  // The hub asked StillLeading and heard no.
  absl::Notification lost;

 private:
  CrawlRegistry* const inner_;
};

// The value of `result`, or `fallback` (after a failure) when it failed.
template <typename T>
T ValueOr(const absl::StatusOr<T>& result, T fallback) {
  EXPECT_THAT(result, IsOk());
  return result.ok() ? *result : fallback;
}

// Whether `done` turns true within 20 s (a bound, should it never).
bool Eventually(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// One replica: its LinkedIn, pacer, fetcher, store, registry and hub.
struct Replica {
  FakeHttpClient http{nullptr};
  std::unique_ptr<LinkedInClient> client;
  std::unique_ptr<RequestPacer> pacer;
  std::unique_ptr<FollowsFetcher> fetcher;
  std::unique_ptr<PgSnapshotStore> store;
  std::unique_ptr<PgCrawlRegistry> registry;
  std::unique_ptr<WatchedRegistry> watched;
  std::unique_ptr<SnapshotHub> hub;

  ~Replica() {
    hub.reset();
    watched.reset();
    registry.reset();
  }
  size_t Requests() const { return http.sent().size(); }
};

class PgCrawlRegistryTest : public ::followgate::testing::PostgresSuiteTest {
 protected:
  void SetUp() override {
    PostgresSuiteTest::SetUp();
    static std::atomic<int> databases{0};
    const std::string name = absl::StrCat("crawl_", ++databases);
    absl::StatusOr<std::unique_ptr<PgDb>> admin = PgDb::Connect(server_->url());
    ASSERT_THAT(admin, IsOk());
    ASSERT_THAT((*admin)->Exec(absl::StrCat("CREATE DATABASE ", name)), IsOk());
    url_ = absl::StrCat("postgresql://postgres@127.0.0.1:", server_->port(), "/", name);
  }

  // A lease long enough that a slow (sanitized) renewal never loses it;
  // tests of expiry and of what renewals do pass kShortLease (renewals
  // every lease / 3).
  static constexpr absl::Duration kLease = absl::Seconds(3);
  static constexpr absl::Duration kShortLease = absl::Seconds(1);

  std::unique_ptr<Replica> MakeReplica(const std::string& id, bool with_registry = true,
                                       absl::Duration lease = kLease) {
    auto r = std::make_unique<Replica>();
    r->http.SetHandler([](const HttpRequest& request) { return FakeLinkedIn(request); });
    LinkedInClientOptions client_options;
    client_options.base_url = "http://li";
    r->client = std::make_unique<LinkedInClient>(&r->http, Clock::Real(), client_options);
    r->pacer = std::make_unique<RequestPacer>(Clock::Real(), absl::Milliseconds(5));
    r->fetcher = std::make_unique<FollowsFetcher>(r->client.get(), r->pacer.get(), Clock::Real(),
                                                  FollowsFetcherOptions{});
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(url_);
    EXPECT_THAT(db, IsOk());
    absl::StatusOr<std::unique_ptr<PgSnapshotStore>> store =
        PgSnapshotStore::Open(*std::move(db), Clock::Real());
    EXPECT_THAT(store, IsOk());
    r->store = *std::move(store);
    PgCrawlRegistryOptions options;
    options.url = url_;
    options.replica_id = id;
    options.lease = lease;
    options.poll_interval = absl::Milliseconds(100);
    absl::StatusOr<std::unique_ptr<PgCrawlRegistry>> registry = PgCrawlRegistry::Create(options);
    EXPECT_THAT(registry, IsOk());
    r->registry = *std::move(registry);
    r->watched = std::make_unique<WatchedRegistry>(r->registry.get());
    r->hub = std::make_unique<SnapshotHub>(r->store.get(), r->fetcher.get(), r->pacer.get(),
                                           Clock::Real(), SnapshotHubOptions{},
                                           with_registry ? r->watched.get() : nullptr);
    return r;
  }

  // Reads every page of the lease's snapshot; the status of the first
  // failure, if any.
  static absl::StatusOr<std::vector<std::string>> ReadAll(SnapshotLease& lease) {
    std::vector<std::string> pages;
    CancellationToken never;
    for (int64_t seq = 0;; ++seq) {
      absl::StatusOr<SnapshotLease::PageWait> wait =
          lease.WaitForPage(seq, absl::Now() + absl::Seconds(20), never);
      if (!wait.ok()) return wait.status();
      if (wait->kind != SnapshotLease::PageWait::Kind::kPage) {
        return absl::DeadlineExceededError(absl::StrCat("no page ", seq));
      }
      pages.push_back(wait->page);
      if (wait->last) return pages;
    }
  }

  std::string url_;
};

TEST_F(PgCrawlRegistryTest, ReadersOnTwoReplicasCostTheRequestsOfOneCrawl) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  std::unique_ptr<SnapshotLease> lease_a, lease_b;
  absl::StatusOr<std::vector<std::string>> pages_a, pages_b;
  std::thread ta([&] {
    auto lease = a->hub->Open(Query(), std::nullopt, Requester{"x"});
    ASSERT_THAT(lease, IsOk());
    lease_a = *std::move(lease);
    pages_a = ReadAll(*lease_a);
  });
  std::thread tb([&] {
    auto lease = b->hub->Open(Query(), std::nullopt, Requester{"y"});
    ASSERT_THAT(lease, IsOk());
    lease_b = *std::move(lease);
    pages_b = ReadAll(*lease_b);
  });
  ta.join();
  tb.join();
  ASSERT_NE(lease_a, nullptr);
  ASSERT_NE(lease_b, nullptr);
  EXPECT_EQ(lease_a->snapshot_id(), lease_b->snapshot_id());
  ASSERT_THAT(pages_a, IsOk());
  ASSERT_THAT(pages_b, IsOk());
  EXPECT_EQ(pages_a->size(), 5u);
  EXPECT_EQ(*pages_a, *pages_b);
  EXPECT_EQ(a->Requests() + b->Requests(), 5u);  // ceil(4500 / 1000).
}

TEST_F(PgCrawlRegistryTest, DeadLeadersCrawlIsTakenOverAndFinishedFromTheStoredCursor) {
  auto a = MakeReplica("a", true, kShortLease);
  auto b = MakeReplica("b", true, kShortLease);
  // A answers two pages, then its third request hangs (in flight as it
  // "dies").
  absl::Notification third_sent, release;
  // Also when the test ends early: A's hub waits for its request.
  struct Releaser {
    absl::Notification& release;
    ~Releaser() {
      if (!release.HasBeenNotified()) release.Notify();
    }
  } releaser{release};
  std::atomic<int> served{0};
  a->http.SetHandler([&](const HttpRequest& request) {
    if (++served == 3) {
      third_sent.Notify();
      release.WaitForNotification();
    }
    return FakeLinkedIn(request);
  });
  auto lease_a = a->hub->Open(Query(), std::nullopt, Requester{"x"});
  ASSERT_THAT(lease_a, IsOk());
  third_sent.WaitForNotification();
  auto lease_b = b->hub->Open(Query(), std::nullopt, Requester{"y"});
  ASSERT_THAT(lease_b, IsOk());
  ASSERT_EQ((*lease_b)->snapshot_id(), (*lease_a)->snapshot_id());
  const absl::Time died = absl::Now();
  a->registry->Abandon();  // No renewals, no release.

  absl::StatusOr<std::vector<std::string>> pages = ReadAll(**lease_b);
  const absl::Duration took = absl::Now() - died;
  ASSERT_THAT(pages, IsOk());
  EXPECT_EQ(pages->size(), 5u);
  // Within the lease and a poll (plus the requests).
  EXPECT_LT(took, absl::Seconds(10));
  // B went on from A's last stored cursor: pages 2, 3 and 4 only.
  std::vector<std::string> cursors;
  for (const auto& sent : b->http.sent()) cursors.push_back(CursorOf(sent.request));
  EXPECT_THAT(cursors, ::testing::ElementsAre("o2000", "o3000", "o4000"));

  release.Notify();  // A's request in flight comes back: it must not be stored.
  lease_a->reset();
  a->hub.reset();
  EXPECT_EQ(a->Requests(), 3u);
  auto info = b->store->Get((*lease_b)->snapshot_id());
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE((*info)->complete);
  EXPECT_EQ((*info)->page_count, 5);
}

TEST_F(PgCrawlRegistryTest, StalledLeaderWhoseLeaseWasTakenDropsItsPageInFlightAndStopsCrawling) {
  auto a = MakeReplica("a", true, kShortLease);
  auto b = MakeReplica("b", true, kShortLease);
  // A answers two pages, then its third request stalls; B's first request
  // stalls too, so that A's answer arrives before B has stored anything.
  absl::Notification a_third_sent, a_release, b_first_sent, b_release;
  struct Releaser {
    absl::Notification& a;
    absl::Notification& b;
    ~Releaser() {
      if (!a.HasBeenNotified()) a.Notify();
      if (!b.HasBeenNotified()) b.Notify();
    }
  } releaser{a_release, b_release};
  std::atomic<int> a_served{0}, b_served{0};
  a->http.SetHandler([&](const HttpRequest& request) {
    if (++a_served == 3) {
      a_third_sent.Notify();
      a_release.WaitForNotification();
    }
    return FakeLinkedIn(request);
  });
  b->http.SetHandler([&](const HttpRequest& request) {
    if (++b_served == 1) {
      b_first_sent.Notify();
      b_release.WaitForNotification();
    }
    return FakeLinkedIn(request);
  });
  auto lease_a = a->hub->Open(Query(), std::nullopt, Requester{"x"});
  ASSERT_THAT(lease_a, IsOk());
  a_third_sent.WaitForNotification();
  const int64_t id = (*lease_a)->snapshot_id();
  auto lease_b = b->hub->Open(Query(), std::nullopt, Requester{"y"});
  ASSERT_THAT(lease_b, IsOk());
  ASSERT_EQ((*lease_b)->snapshot_id(), id);

  // A stalls past its lease (as a paused process would): its lease runs out
  // in the database and B takes the crawl over.
  auto db = PgDb::Connect(url_);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Exec(absl::StrCat("UPDATE crawl_leases SET lease_until = clock_timestamp() "
                                       "- interval '1 second' WHERE snapshot_id = ",
                                       id)),
              IsOk());
  ASSERT_TRUE(b_first_sent.WaitForNotificationWithTimeout(absl::Seconds(20)));
  // A's next renewal finds the lease B's.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (a->registry->StillLeading(id) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_FALSE(a->registry->StillLeading(id));

  // A's answer comes back: A asks whether it still leads and stores nothing.
  a_release.Notify();
  EXPECT_TRUE(a->watched->lost.WaitForNotificationWithTimeout(absl::Seconds(10)));
  b_release.Notify();

  absl::StatusOr<std::vector<std::string>> pages = ReadAll(**lease_b);
  ASSERT_THAT(pages, IsOk());
  EXPECT_EQ(pages->size(), 5u);
  // B stored pages 2, 3 and 4 itself; A sent no request after the stalled one.
  std::vector<std::string> cursors;
  for (const auto& sent : b->http.sent()) cursors.push_back(CursorOf(sent.request));
  EXPECT_THAT(cursors, ::testing::ElementsAre("o2000", "o3000", "o4000"));
  lease_a->reset();
  a->hub.reset();
  EXPECT_EQ(a->Requests(), 3u);
}

TEST_F(PgCrawlRegistryTest, RecordedNotFoundReachesTheFollowerWithoutASecondRequest) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  absl::Notification a_sent;
  a->http.SetHandler([&](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    if (!a_sent.HasBeenNotified()) a_sent.Notify();
    // B follows A by now (a bound, should it never).
    b->watched->followed.WaitForNotificationWithTimeout(absl::Seconds(20));
    HttpResponse response;
    response.status_code = 404;
    response.body = R"({"status":404,"message":"Not Found"})";
    return response;
  });
  auto lease_a = a->hub->Open(Query(), std::nullopt, Requester{"x"});
  ASSERT_THAT(lease_a, IsOk());
  // A leads: its crawl has sent its request before B opens (else B's crawl
  // could win the lead).
  ASSERT_TRUE(a_sent.WaitForNotificationWithTimeout(absl::Seconds(20)));
  auto lease_b = b->hub->Open(Query(), std::nullopt, Requester{"y"});
  ASSERT_THAT(lease_b, IsOk());
  EXPECT_THAT(ReadAll(**lease_b), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadAll(**lease_a), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(a->Requests(), 1u);
  EXPECT_EQ(b->Requests(), 0u);
}

TEST_F(PgCrawlRegistryTest, CallerWaitingOnAnotherReplicaPromotesTheLeaderWithTheHighestPriority) {
  auto a = MakeReplica("a", true, kShortLease);
  auto b = MakeReplica("b", true, kShortLease);
  auto c = MakeReplica("c");
  auto info = a->store->Create("q");
  ASSERT_THAT(info, IsOk());
  ASSERT_TRUE(ValueOr(a->registry->TryLead(info->id, kLeadAgain), false));
  absl::Notification promoted;
  std::atomic<int> calls{0}, priority{-1};
  a->registry->WhenCallerWaits(info->id, [&](int p) {
    priority = p;
    if (++calls == 1) promoted.Notify();
  });
  // Nobody waits yet: no promotion, also not at renewals.
  EXPECT_FALSE(promoted.WaitForNotificationWithTimeout(absl::Milliseconds(500)));
  b->registry->CallerWaits(info->id, 2);
  c->registry->CallerWaits(info->id, 7);
  c->registry->CallerWaits(info->id, 1);
  ASSERT_TRUE(promoted.WaitForNotificationWithTimeout(absl::Seconds(20)));
  // The notification, or a renewal, found 2 or 7: the promotion runs once.
  EXPECT_THAT(priority.load(), ::testing::AnyOf(2, 7));
  absl::SleepFor(absl::Milliseconds(500));  // Two renewals: no second call.
  EXPECT_EQ(calls.load(), 1);
  // A registration after the callers announced themselves hears of them at
  // once: the row holds the highest.
  std::atomic<int> now{-1};
  a->registry->WhenCallerWaits(info->id, [&](int p) { now = p; });
  EXPECT_TRUE(Eventually([&] { return now == 7; }));
}

TEST_F(PgCrawlRegistryTest, NoPromotionRunsAfterStopLeadingAndANewCrawlStartsWithoutCallers) {
  auto a = MakeReplica("a", true, kShortLease);
  auto b = MakeReplica("b", true, kShortLease);
  auto info = a->store->Create("q");
  ASSERT_THAT(info, IsOk());
  ASSERT_TRUE(ValueOr(a->registry->TryLead(info->id, kLeadAgain), false));
  std::atomic<int> calls{0};
  a->registry->WhenCallerWaits(info->id, [&](int) { ++calls; });
  a->registry->StopLeading(info->id, absl::NotFoundError("gone"));  // A recorded outcome.
  b->registry->CallerWaits(info->id, 5);  // Announced on the ended crawl's row.
  // B's new crawl, led by B, hears nothing of that caller.
  ASSERT_TRUE(ValueOr(b->registry->TryLead(info->id, kLeadAgain), false));
  std::atomic<int> heard{-1};
  b->registry->WhenCallerWaits(info->id, [&](int p) { heard = p; });
  absl::SleepFor(absl::Milliseconds(700));  // Renewals of both.
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(heard.load(), -1);
  // A caller of the new crawl is heard.
  a->registry->CallerWaits(info->id, 4);
  EXPECT_TRUE(Eventually([&] { return heard == 4; }));
}

TEST_F(PgCrawlRegistryTest, CallerOnAnotherReplicaJoiningAWatchCrawlIsServedWhileTheLeadersBudgetIsBusy) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  // A's budget always has a caller of its own ready: a request waiting for
  // an idle slot is never granted there.
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      CancellationToken never;
      while (!stop) {
        EXPECT_THAT(a->pacer->Acquire(PacerRequest{"busy"}, never), IsOk());
      }
    });
  }
  struct Stopper {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Stopper() {
      stop = true;
      for (std::thread& t : threads) t.join();
    }
  } stopper{stop, busy};

  Requester watch;
  watch.caller = "watch";
  watch.idle_only = true;
  auto watching = a->hub->Open(Query(), std::nullopt, watch);
  ASSERT_THAT(watching, IsOk());
  ASSERT_TRUE(a->watched->led.WaitForNotificationWithTimeout(absl::Seconds(20)));
  Requester caller;
  caller.caller = "pipeline";
  caller.priority = 5;
  auto reading = b->hub->Open(Query(), std::nullopt, caller);
  ASSERT_THAT(reading, IsOk());
  ASSERT_EQ((*reading)->snapshot_id(), (*watching)->snapshot_id());
  // A's crawl fetches for B's caller now, ahead of A's busy caller.
  absl::StatusOr<std::vector<std::string>> pages = ReadAll(**reading);
  ASSERT_THAT(pages, IsOk());
  EXPECT_EQ(pages->size(), 5u);
  EXPECT_EQ(a->Requests(), 5u);
  EXPECT_EQ(b->Requests(), 0u);
}

TEST_F(PgCrawlRegistryTest, PinOnAnyReplicaKeepsTheSnapshotFromEveryReplicasRetention) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  auto old = a->store->Create("q");
  ASSERT_THAT(old, IsOk());
  ASSERT_THAT(a->store->AppendPage(old->id, 0, "page", ""), IsOk());
  auto newer = a->store->Create("q");
  ASSERT_THAT(newer, IsOk());
  ASSERT_THAT(a->store->AppendPage(newer->id, 0, "page", ""), IsOk());
  a->registry->Pin(old->id);
  // B knows nothing of A's readers; the fleet's pin keeps the snapshot.
  EXPECT_EQ(ValueOr(b->store->Prune({absl::ZeroDuration(), 0}, {}), -1), 1);
  EXPECT_TRUE((*b->store->Get(old->id)).has_value());
  EXPECT_FALSE((*b->store->Get(newer->id)).has_value());
  a->registry->Unpin(old->id);
  EXPECT_EQ(ValueOr(b->store->Prune({absl::ZeroDuration(), 0}, {}), -1), 1);
  EXPECT_FALSE((*b->store->Get(old->id)).has_value());
}

TEST_F(PgCrawlRegistryTest, LiveCrawlLeaseKeepsTheSnapshotFromRetention) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  auto info = a->store->Create("q");
  ASSERT_THAT(info, IsOk());
  ASSERT_THAT(a->store->AppendPage(info->id, 0, "page", ""), IsOk());
  ASSERT_TRUE(ValueOr(a->registry->TryLead(info->id, kLeadAgain), false));
  EXPECT_FALSE(ValueOr(b->registry->TryLead(info->id, kLeadAgain), true));
  EXPECT_TRUE(ValueOr(b->registry->CrawlLive(info->id), false));
  EXPECT_EQ(ValueOr(b->store->Prune({absl::ZeroDuration(), 0}, {}), -1), 0);
  a->registry->StopLeading(info->id, absl::OkStatus());
  EXPECT_EQ(ValueOr(b->store->Prune({absl::ZeroDuration(), 0}, {}), -1), 1);
}

TEST_F(PgCrawlRegistryTest, FollowerLeavesAnOutcomeRecordedMeanwhileAndANewCrawlLeadsAgain) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  auto info = a->store->Create("q");
  ASSERT_THAT(info, IsOk());
  ASSERT_TRUE(ValueOr(a->registry->TryLead(info->id, kLeadAgain), false));
  // B followed, found no outcome yet; then A records one (its lease ends).
  EXPECT_THAT(ValueOr(b->registry->Outcome(info->id), absl::UnknownError("")), IsOk());
  a->registry->StopLeading(info->id, absl::NotFoundError("no such page"));
  // B's next look leaves the outcome alone: it is B's answer, not a crawl
  // to run again.
  EXPECT_FALSE(ValueOr(b->registry->TryLead(info->id, kLeaveIt), true));
  EXPECT_THAT(ValueOr(b->registry->Outcome(info->id), absl::OkStatus()),
              StatusIs(absl::StatusCode::kNotFound));
  // A crawl that begins now tries again, and clears the outcome.
  EXPECT_TRUE(ValueOr(b->registry->TryLead(info->id, kLeadAgain), false));
  EXPECT_THAT(ValueOr(a->registry->Outcome(info->id), absl::UnknownError("")), IsOk());
}

TEST_F(PgCrawlRegistryTest, LiveLeaderKeepsItsLeasePastTheLeaseDurationAndADeadOneLosesIt) {
  auto a = MakeReplica("a", true, kShortLease);
  auto b = MakeReplica("b", true, kShortLease);
  auto info = a->store->Create("q");
  ASSERT_THAT(info, IsOk());
  ASSERT_TRUE(ValueOr(a->registry->TryLead(info->id, kLeadAgain), false));
  // What is tested is the lease's time itself: 2.5 leases pass.
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_FALSE(ValueOr(b->registry->TryLead(info->id, kLeadAgain), true));  // Renewed meanwhile.
  EXPECT_TRUE(a->registry->StillLeading(info->id));
  a->registry->Abandon();
  absl::SleepFor(absl::Milliseconds(1200));
  EXPECT_TRUE(ValueOr(b->registry->TryLead(info->id, kLeadAgain), false));
}

TEST_F(PgCrawlRegistryTest, ConcurrentCreatesOfANewQueryOnTwoReplicasMakeOneSnapshot) {
  auto a = MakeReplica("a");
  auto b = MakeReplica("b");
  for (int i = 0; i < 30; ++i) {
    const std::string key = absl::StrCat("query-", i);
    absl::StatusOr<SnapshotInfo> from_a, from_b;
    std::atomic<int> ready{0};
    std::thread ta([&] {
      ++ready;
      while (ready < 2) {
      }
      from_a = a->store->CreateUnlessInProgress(key);
    });
    std::thread tb([&] {
      ++ready;
      while (ready < 2) {
      }
      from_b = b->store->CreateUnlessInProgress(key);
    });
    ta.join();
    tb.join();
    ASSERT_THAT(from_a, IsOk());
    ASSERT_THAT(from_b, IsOk());
    EXPECT_EQ(from_a->id, from_b->id) << key;
  }
}

TEST_F(PgCrawlRegistryTest, BadOptionsAreInvalidArgumentNamingTheField) {
  PgCrawlRegistryOptions options;
  options.url = url_;
  EXPECT_THAT(PgCrawlRegistry::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("replica_id")));
  options.replica_id = "a";
  options.lease = absl::ZeroDuration();
  EXPECT_THAT(PgCrawlRegistry::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("lease")));
}

}  // namespace
}  // namespace followgate
