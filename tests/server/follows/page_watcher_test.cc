// Watched pages (--watch): refreshed without a caller, on their interval,
// from idle slots, against a scripted LinkedIn on a fake clock.
#include "server/follows/page_watcher.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/follows/request_pacer.h"
#include "server/follows/snapshot_hub.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kPage[] = "urn:li:organizationalPage:42";
constexpr absl::Duration kWatchInterval = absl::Hours(24);

// Page 42 has 2,500 members (3 pages) and 3 page followers (1 page).
absl::StatusOr<HttpResponse> FakeLinkedIn(const HttpRequest& request) {
  const bool pages = request.url.find("ORGANIZATIONAL_PAGE_FOLLOWS") != std::string::npos;
  const int total = pages ? 3 : 2500;
  int offset = 0;
  if (size_t at = request.url.find("paginationCursor=o"); at != std::string::npos) {
    EXPECT_TRUE(absl::SimpleAtoi(request.url.substr(at + 18), &offset));
  }
  std::string elements;
  for (int i = offset; i < std::min(total, offset + 1000); ++i) {
    absl::StrAppend(&elements, i == offset ? "" : ",", R"({"follower":"urn:li:)",
                    pages ? "organizationalPage:" : "person:m", i, R"(","followee":")", kPage,
                    R"(","lastModifiedAt":7})");
  }
  const bool more = offset + 1000 < total;
  HttpResponse response;
  response.status_code = 200;
  response.body = absl::StrCat(
      R"({"paging":{"total":)", total, R"(},"metadata":)",
      more ? absl::StrCat(R"({"nextPaginationCursor":"o)", offset + 1000, R"("})") : "{}",
      R"(,"elements":[)", elements, "]}");
  return response;
}

FollowsQuery Members() {
  FollowsQuery query;
  query.urn = kPage;
  query.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  return query;
}

// A budget that passes everything to a RequestPacer and records promotions.
class PromotionSpy final : public UpstreamBudget {
 public:
  explicit PromotionSpy(RequestPacer* pacer) : pacer_(pacer) {}
  absl::Status Acquire(const PacerRequest& request, const CancellationToken& cancel,
                       WaitTicket* ticket) override {
    return pacer_->Acquire(request, cancel, ticket);
  }
  void OnThrottled() override { pacer_->OnThrottled(); }
  void OnThrottled(absl::Duration retry_after) override { pacer_->OnThrottled(retry_after); }
  void OnAnswered() override { pacer_->OnAnswered(); }
  void Promote(WaitTicket* ticket, int priority) override {
    {
      absl::MutexLock lock(&mu_);
      promotions_.push_back(priority);
    }
    pacer_->Promote(ticket, priority);
  }
  absl::Duration interval() const override { return pacer_->interval(); }
  absl::Time next_grant_time() const override { return pacer_->next_grant_time(); }
  std::optional<QueuePosition> PositionOf(uint64_t ticket) const override {
    return pacer_->PositionOf(ticket);
  }
  std::vector<int> promotions() const {
    absl::MutexLock lock(&mu_);
    return promotions_;
  }

 private:
  RequestPacer* const pacer_;
  mutable absl::Mutex mu_;
  std::vector<int> promotions_ ABSL_GUARDED_BY(mu_);
};

class PageWatcherTest : public ::testing::Test {
 protected:
  // `interval`: the LinkedIn budget's (zero: every request at once).
  explicit PageWatcherTest(absl::Duration interval = absl::ZeroDuration())
      : http_(&clock_), pacer_(&clock_, interval), budget_(&pacer_) {
    const std::string db = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    std::remove(db.c_str());
    LinkedInClientOptions options;
    options.base_url = "http://li";
    client_ = std::make_unique<LinkedInClient>(&http_, &clock_, options);
    fetcher_ = std::make_unique<FollowsFetcher>(client_.get(), &budget_, &clock_,
                                                FollowsFetcherOptions{});
    http_.SetHandler(FakeLinkedIn);
    auto store = SqliteSnapshotStore::Open(db, &clock_);
    EXPECT_THAT(store.status(), IsOk());
    store_ = *std::move(store);
    hub_ = std::make_unique<SnapshotHub>(store_.get(), fetcher_.get(), &budget_, &clock_,
                                         SnapshotHubOptions{});
  }
  ~PageWatcherTest() override {
    watcher_.reset();
    hub_.reset();
  }

  void StartWatcher(absl::Duration failure_backoff = absl::Minutes(10)) {
    PageWatcherOptions options;
    options.pages = {kPage};
    options.interval = kWatchInterval;
    options.failure_backoff = failure_backoff;
    watcher_ = std::make_unique<PageWatcher>(hub_.get(), store_.get(), &clock_, options);
    watcher_->Start();
  }

  // Opens `query` as a caller and reads it to its end; the snapshot's id.
  int64_t ReadAsCaller(const FollowsQuery& query) {
    Requester caller;
    caller.caller = "pipeline";
    auto lease = hub_->Open(query, std::nullopt, caller);
    EXPECT_THAT(lease.status(), IsOk());
    if (!lease.ok()) return 0;
    CancellationToken never;
    auto end = (*lease)->WaitForPage(1 << 20, absl::InfiniteFuture(), never);
    EXPECT_THAT(end.status(), IsOk());
    return (*lease)->snapshot_id();
  }

  FakeClock clock_;
  FakeHttpClient http_;
  RequestPacer pacer_;
  PromotionSpy budget_;
  std::unique_ptr<LinkedInClient> client_;
  std::unique_ptr<FollowsFetcher> fetcher_;
  std::unique_ptr<SnapshotStore> store_;
  std::unique_ptr<SnapshotHub> hub_;
  std::unique_ptr<PageWatcher> watcher_;
};

TEST(ParseWatchedPages, TakesCommaSeparatedPagesCanonicalAndOnce) {
  auto pages = ParseWatchedPages(
      " urn:li:organizationalPage:1000 ,urn:li:organizationalPage:2000,"
      "urn:li:organizationalPage:1000,");
  ASSERT_THAT(pages.status(), IsOk());
  EXPECT_THAT(*pages, ::testing::ElementsAre("urn:li:organizationalPage:1000",
                                             "urn:li:organizationalPage:2000"));
  EXPECT_THAT(ParseWatchedPages("").value(), ::testing::IsEmpty());
}

TEST(ParseWatchedPages, RefusesWhatIsNotAFolloweePageNamingTheFlag) {
  EXPECT_THAT(ParseWatchedPages("urn:li:organizationalPage:1000,urn:li:person:abc").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--watch")));
  EXPECT_THAT(ParseWatchedPages("1000").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--watch")));
}

TEST_F(PageWatcherTest, WatchedPageIsFetchedWithoutACallerAndThenServedWithoutARequest) {
  StartWatcher();
  watcher_->AwaitRounds(2);  // Members and page followers.
  EXPECT_EQ(watcher_->refreshes(), 2);
  EXPECT_EQ(http_.sent().size(), 4u);  // 3 pages of members, 1 of pages.
  ReadAsCaller(Members());
  EXPECT_EQ(http_.sent().size(), 4u);
}

TEST_F(PageWatcherTest, RefreshesOnceTheSnapshotIsAsOldAsTheInterval) {
  StartWatcher();
  watcher_->AwaitRounds(2);
  clock_.Advance(kWatchInterval);
  watcher_->AwaitRounds(4);
  EXPECT_EQ(watcher_->refreshes(), 4);
  EXPECT_EQ(http_.sent().size(), 8u);
}

TEST_F(PageWatcherTest, SnapshotFreshFromACallerCostsTheWatchNothing) {
  ReadAsCaller(Members());
  ASSERT_EQ(http_.sent().size(), 3u);
  clock_.Advance(kWatchInterval / 2);
  StartWatcher();
  watcher_->AwaitRounds(2);
  EXPECT_EQ(http_.sent().size(), 4u);  // Only the page followers.
  // The members' snapshot is due when it is a whole interval old.
  clock_.Advance(kWatchInterval / 2);
  watcher_->AwaitRounds(3);
  EXPECT_EQ(http_.sent().size(), 7u);
}

TEST_F(PageWatcherTest, FailedRefreshIsTriedAgainAfterTheBackoff) {
  http_.SetHandler([](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.status_code = 403;
    response.body = R"({"status":403,"message":"Not enough permissions"})";
    return response;
  });
  StartWatcher(absl::Minutes(10));
  watcher_->AwaitRounds(2);
  EXPECT_EQ(watcher_->failures(), 2);
  http_.SetHandler(FakeLinkedIn);
  clock_.Advance(absl::Minutes(10));
  watcher_->AwaitRounds(4);
  EXPECT_EQ(watcher_->refreshes(), 2);
}

class PacedPageWatcherTest : public PageWatcherTest {
 protected:
  PacedPageWatcherTest() : PageWatcherTest(absl::Seconds(60)) {}
};

TEST_F(PacedPageWatcherTest, CallerJoiningTheWatchCrawlPromotesItToItsPriority) {
  Requester watch;
  watch.caller = PageWatcher::kCaller;
  watch.idle_only = true;
  auto watching = hub_->Open(Members(), kWatchInterval, watch);
  ASSERT_THAT(watching.status(), IsOk());
  // A caller of another query promotes nothing; a second watch neither.
  FollowsQuery pages = Members();
  pages.edge_type = v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE;
  Requester caller;
  caller.caller = "pipeline";
  caller.priority = 3;
  auto other = hub_->Open(pages, std::nullopt, caller);
  ASSERT_THAT(other.status(), IsOk());
  auto again = hub_->Open(Members(), kWatchInterval, watch);
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_THAT(budget_.promotions(), ::testing::IsEmpty());

  auto joined = hub_->Open(Members(), std::nullopt, caller);
  ASSERT_THAT(joined.status(), IsOk());
  EXPECT_EQ((*joined)->snapshot_id(), (*watching)->snapshot_id());
  EXPECT_THAT(budget_.promotions(), ::testing::ElementsAre(3));
  // Once is enough: the crawl fetches for callers to its end.
  auto second = hub_->Open(Members(), std::nullopt, caller);
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_THAT(budget_.promotions(), ::testing::ElementsAre(3));
}

TEST_F(PacedPageWatcherTest, CallersCrawlJoinedByTheWatchStaysACallersCrawl) {
  Requester caller;
  caller.caller = "pipeline";
  auto reading = hub_->Open(Members(), std::nullopt, caller);
  ASSERT_THAT(reading.status(), IsOk());
  Requester watch;
  watch.caller = PageWatcher::kCaller;
  watch.idle_only = true;
  auto watching = hub_->Open(Members(), kWatchInterval, watch);
  ASSERT_THAT(watching.status(), IsOk());
  EXPECT_EQ((*watching)->snapshot_id(), (*reading)->snapshot_id());
  EXPECT_THAT(budget_.promotions(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace followgate
