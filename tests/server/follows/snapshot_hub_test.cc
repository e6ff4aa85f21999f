// Snapshots shared by readers: the hub, its crawls and the streams and lists
// served from it, against a scripted LinkedIn on a fake clock.
#include "server/follows/snapshot_hub.h"

#include <atomic>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/follows/snapshot_streams.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kInterval = absl::Seconds(60);
constexpr char kPage[] = "urn:li:organizationalPage:42";

// A LinkedIn with `members` followers of page 42 (and 3 page followers),
// served 1000 per page; the cursor is the next offset.
absl::StatusOr<HttpResponse> FakeLinkedIn(const HttpRequest& request, int first_member,
                                          int members) {
  const bool pages = request.url.find("ORGANIZATIONAL_PAGE_FOLLOWS") != std::string::npos;
  const int total = pages ? 3 : members;
  int offset = 0;
  if (size_t at = request.url.find("paginationCursor=o"); at != std::string::npos) {
    EXPECT_TRUE(absl::SimpleAtoi(request.url.substr(at + 18), &offset));
  }
  std::string elements;
  for (int i = offset; i < std::min(total, offset + 1000); ++i) {
    absl::StrAppend(&elements, i == offset ? "" : ",", R"({"follower":"urn:li:)",
                    pages ? "organizationalPage:" : "person:m", pages ? i : first_member + i,
                    R"(","followee":")", kPage,
                    R"(","lastModifiedAt":7})");
  }
  const bool more = offset + 1000 < total;
  HttpResponse response;
  response.status_code = 200;
  response.body = absl::StrCat(R"({"paging":{"total":)", total, R"(},"metadata":)",
                               more ? absl::StrCat(R"({"nextPaginationCursor":"o)",
                                                   offset + 1000, R"("})")
                                    : "{}",
                               R"(,"elements":[)", elements, "]}");
  return response;
}

v1::StreamFollowersRequest Followers(v1::FollowerFilter filter = v1::FOLLOWER_FILTER_MEMBERS) {
  v1::StreamFollowersRequest request;
  request.set_followee(kPage);
  request.set_follower_filter(filter);
  return request;
}

// A store that asks its readers to read `pages` ahead (as PgSnapshotStore
// does), over another store, counting the reads it is asked for.
class ReadAheadStore final : public SnapshotStore {
 public:
  ReadAheadStore(std::unique_ptr<SnapshotStore> inner, int64_t pages)
      : inner_(std::move(inner)), pages_(pages) {}

  absl::StatusOr<std::optional<SnapshotInfo>> Get(int64_t id) override { return inner_->Get(id); }
  absl::StatusOr<std::optional<SnapshotInfo>> LatestComplete(const std::string& key) override {
    return inner_->LatestComplete(key);
  }
  absl::StatusOr<std::optional<SnapshotInfo>> LatestInProgress(const std::string& key) override {
    return inner_->LatestInProgress(key);
  }
  absl::StatusOr<std::vector<SnapshotInfo>> NewestComplete(const std::string& key,
                                                           int count) override {
    return inner_->NewestComplete(key, count);
  }
  absl::StatusOr<std::optional<SnapshotInfo>> NewestCompleteAtOrBefore(const std::string& key,
                                                                     absl::Time time) override {
    return inner_->NewestCompleteAtOrBefore(key, time);
  }
  absl::StatusOr<std::vector<SnapshotInfo>> List(const std::string& key, int64_t before_id,
                                                 int limit) override {
    return inner_->List(key, before_id, limit);
  }
  absl::StatusOr<SnapshotInfo> Create(const std::string& key) override {
    return inner_->Create(key);
  }
  absl::Status AppendPage(int64_t id, int64_t seq, const std::string& page,
                          const std::string& next_cursor) override {
    return inner_->AppendPage(id, seq, page, next_cursor);
  }
  absl::StatusOr<std::vector<std::string>> Cursors(int64_t id) override {
    return inner_->Cursors(id);
  }
  absl::StatusOr<std::optional<std::string>> ReadPage(int64_t id, int64_t seq) override {
    ++page_reads;
    return inner_->ReadPage(id, seq);
  }
  ReadAhead read_ahead() const override {
    ReadAhead read_ahead;
    read_ahead.max_pages = pages_;
    read_ahead.max_bytes = int64_t{1} << 30;
    return read_ahead;
  }
  absl::StatusOr<std::vector<std::string>> ReadPages(int64_t id, int64_t first_seq,
                                                     int64_t max_pages,
                                                     int64_t max_bytes) override {
    ++batch_reads;
    return inner_->ReadPages(id, first_seq, max_pages, max_bytes);
  }
  absl::StatusOr<int> Prune(const RetentionLimits& limits,
                            const std::set<int64_t>& in_use) override {
    return inner_->Prune(limits, in_use);
  }

  std::atomic<int> page_reads{0};
  std::atomic<int> batch_reads{0};

 private:
  const std::unique_ptr<SnapshotStore> inner_;
  const int64_t pages_;
};

class SnapshotHubTest : public ::testing::Test {
 protected:
  SnapshotHubTest() : http_(&clock_) {
    db_path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                            ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                            ".db");
    std::remove(db_path_.c_str());
    LinkedInClientOptions options;
    options.base_url = "http://li";
    client_ = std::make_unique<LinkedInClient>(&http_, &clock_, options);
    pacer_ = std::make_unique<RequestPacer>(&clock_, kInterval);
    fetcher_ = std::make_unique<FollowsFetcher>(client_.get(), pacer_.get(), &clock_,
                                                FollowsFetcherOptions{});
    http_.SetHandler(
        [this](const HttpRequest& r) { return FakeLinkedIn(r, first_member_, members_); });
    StartHub();
  }

  ~SnapshotHubTest() override {
    hub_.reset();
    store_.reset();
  }

  void StartHub(SnapshotHubOptions options = {}) {
    hub_.reset();
    store_.reset();
    auto store = SqliteSnapshotStore::Open(db_path_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    if (read_ahead_pages_ > 1) {
      auto read_ahead = std::make_unique<ReadAheadStore>(std::move(store_), read_ahead_pages_);
      read_ahead_ = read_ahead.get();
      store_ = std::move(read_ahead);
    }
    hub_ = std::make_unique<SnapshotHub>(store_.get(), fetcher_.get(), pacer_.get(), &clock_,
                                         options);
  }

  // Streams `request` to its end (or until `stop_after` pages), collecting
  // pages and heartbeats.
  struct Streamed {
    absl::Status status;
    std::vector<v1::FollowerPage> pages;
    std::vector<v1::StreamHeartbeat> heartbeats;
    std::vector<std::string> Followers() const {
      std::vector<std::string> urns;
      for (const auto& p : pages) {
        for (const auto& e : p.edges()) urns.push_back(e.follower().urn());
      }
      return urns;
    }
  };
  Streamed Stream(const v1::StreamFollowersRequest& request, int stop_after = -1,
                  absl::Duration heartbeat_interval = absl::Hours(1),
                  absl::Time deadline = absl::InfiniteFuture()) {
    Streamed out;
    auto plan = PlanFor(request);
    if (!plan.ok()) {
      out.status = plan.status();
      return out;
    }
    plan->deadline = deadline;
    CancellationToken never;
    out.status = StreamPages<v1::FollowerPage>(
        hub_.get(), &clock_, heartbeat_interval, tokens_, *plan, never, [&](v1::FollowerPage page) {
          if (page.has_heartbeat()) {
            out.heartbeats.push_back(page.heartbeat());
            return absl::OkStatus();
          }
          out.pages.push_back(std::move(page));
          if (static_cast<int>(out.pages.size()) == stop_after) {
            return absl::CancelledError("enough");
          }
          return absl::OkStatus();
        });
    return out;
  }

  ResumeTokenCodec tokens_{std::string(ResumeTokenCodec::kKeyBytes, 'k')};
  int first_member_ = 0;
  int members_ = 4500;  // 5 upstream pages.
  int64_t read_ahead_pages_ = 1;          // More: the store is a ReadAheadStore...
  ReadAheadStore* read_ahead_ = nullptr;  // ...this one (owned by store_).
  FakeClock clock_;
  FakeHttpClient http_;
  std::string db_path_;
  std::unique_ptr<LinkedInClient> client_;
  std::unique_ptr<RequestPacer> pacer_;
  std::unique_ptr<FollowsFetcher> fetcher_;
  std::unique_ptr<SnapshotStore> store_;
  std::unique_ptr<SnapshotHub> hub_;
};

TEST_F(SnapshotHubTest, ConcurrentIdenticalStreamsCostTheRequestsOfOne) {
  constexpr int kStreams = 10;
  clock_.EnableAutoAdvance(kStreams + 1);  // The readers and the crawl.
  std::vector<Streamed> results(kStreams);
  std::vector<std::thread> readers;
  for (int i = 0; i < kStreams; ++i) {
    readers.emplace_back([&, i] {
      results[i] = Stream(Followers());
      clock_.ParticipantDone();
    });
  }
  for (auto& t : readers) t.join();
  clock_.ParticipantDone();  // The crawl has ended too.
  EXPECT_EQ(http_.sent().size(), 5u);
  for (const Streamed& r : results) {
    ASSERT_THAT(r.status, IsOk());
    const std::vector<std::string> urns = r.Followers();
    EXPECT_EQ(urns.size(), 4500u);
    EXPECT_EQ(std::set<std::string>(urns.begin(), urns.end()).size(), 4500u);
    ASSERT_EQ(r.pages.size(), 5u);
    EXPECT_TRUE(r.pages.back().last_page());
    EXPECT_EQ(r.pages[3].sequence_number(), 3);
  }
}

// Routes every query to one fetcher while `serve` is set, and no query
// otherwise (as a page no credential serves).
class SwitchableRoutes final : public FollowsRoutes {
 public:
  SwitchableRoutes(const FollowsFetcher* fetcher, UpstreamBudget* budget)
      : route_{fetcher, budget, "acme"} {}
  absl::StatusOr<FollowsRoute> RouteFor(const FollowsQuery& query) const override {
    if (serve) return route_;
    return absl::FailedPreconditionError("no LinkedIn credential serves page 42");
  }
  std::atomic<bool> serve{true};

 private:
  const FollowsRoute route_;
};

TEST_F(SnapshotHubTest, QueryNoCredentialServesStoresNothingButAFreshSnapshotIsStillServed) {
  SwitchableRoutes routes(fetcher_.get(), pacer_.get());
  hub_ = std::make_unique<SnapshotHub>(store_.get(), &routes, &clock_, SnapshotHubOptions{});
  FollowsQuery members;
  members.urn = kPage;
  members.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  routes.serve = false;
  EXPECT_THAT(hub_->Open(members, std::nullopt, Requester{"pipeline"}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("page 42")));
  EXPECT_TRUE(http_.sent().empty());
  EXPECT_FALSE(store_->LatestInProgress(SnapshotQueryKey(members))->has_value());

  routes.serve = true;
  clock_.EnableAutoAdvance(2);
  ASSERT_THAT(Stream(Followers()).status, IsOk());
  clock_.ParticipantDone();
  ASSERT_EQ(http_.sent().size(), 5u);
  // No credential any more (its page left the file), but what is fresh is
  // served still.
  routes.serve = false;
  auto lease = hub_->Open(members, std::nullopt, Requester{"pipeline"});
  ASSERT_THAT(lease.status(), IsOk());
  EXPECT_EQ(http_.sent().size(), 5u);
}

TEST_F(SnapshotHubTest, FreshCompleteSnapshotCostsNothingAndStaleOneIsFetchedAgain) {
  clock_.EnableAutoAdvance(2);
  ASSERT_THAT(Stream(Followers()).status, IsOk());
  EXPECT_EQ(http_.sent().size(), 5u);
  const Streamed warm = Stream(Followers());
  ASSERT_THAT(warm.status, IsOk());
  EXPECT_EQ(warm.Followers().size(), 4500u);
  EXPECT_EQ(http_.sent().size(), 5u);  // No upstream request at all.
  EXPECT_EQ(warm.pages[1].upstream_wait().seconds(), 0);

  clock_.Advance(absl::Hours(2));
  v1::StreamFollowersRequest strict = Followers();
  strict.mutable_max_staleness()->set_seconds(3600);
  ASSERT_THAT(Stream(strict).status, IsOk());
  EXPECT_EQ(http_.sent().size(), 10u);  // Older than an hour: fetched again.
  ASSERT_THAT(Stream(Followers()).status, IsOk());
  EXPECT_EQ(http_.sent().size(), 10u);
}

TEST_F(SnapshotHubTest, PagesNameTheirSnapshotAndANewSnapshotHasANewerId) {
  clock_.EnableAutoAdvance(2);
  const Streamed first = Stream(Followers());
  ASSERT_THAT(first.status, IsOk());
  const FollowsQuery query{FollowsQuery::Finder::kFollowee, kPage,
                           v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE};
  auto stored = store_->LatestComplete(SnapshotQueryKey(query));
  ASSERT_THAT(stored, IsOk());
  ASSERT_TRUE(stored->has_value());
  for (const auto& page : first.pages) EXPECT_EQ(page.snapshot_id(), (*stored)->id);
  v1::StreamFollowersRequest fresh = Followers();
  fresh.mutable_max_staleness()->set_seconds(0);
  clock_.Advance(absl::Seconds(1));
  const Streamed second = Stream(fresh);
  ASSERT_THAT(second.status, IsOk());
  EXPECT_GT(second.pages.front().snapshot_id(), (*stored)->id);
}

// As over PostgreSQL: a reader reads the stored pages 4 at a time and hands
// them out one by one, each once, in order, while the crawl stores them and
// from the complete snapshot.
TEST_F(SnapshotHubTest, AStoreThatReadsAheadServesEveryPageOnceInOrderInBatches) {
  members_ = 10500;  // 11 upstream pages.
  read_ahead_pages_ = 4;
  StartHub();
  ASSERT_NE(read_ahead_, nullptr);
  clock_.EnableAutoAdvance(2);
  std::vector<std::string> expected;
  for (int i = 0; i < members_; ++i) expected.push_back(absl::StrCat("urn:li:person:m", i));
  const Streamed crawled = Stream(Followers());
  ASSERT_THAT(crawled.status, IsOk());
  EXPECT_EQ(crawled.Followers(), expected);
  EXPECT_EQ(read_ahead_->page_reads, 0);

  read_ahead_->batch_reads = 0;
  const Streamed warm = Stream(Followers());
  ASSERT_THAT(warm.status, IsOk());
  EXPECT_EQ(warm.Followers(), expected);
  ASSERT_EQ(warm.pages.size(), 11u);
  for (size_t i = 0; i < warm.pages.size(); ++i) {
    EXPECT_EQ(warm.pages[i].sequence_number(), static_cast<int64_t>(i));
    EXPECT_EQ(warm.pages[i].last_page(), i + 1 == warm.pages.size());
  }
  EXPECT_EQ(read_ahead_->batch_reads, 3);  // Pages 0-3, 4-7, 8-10.
  EXPECT_EQ(read_ahead_->page_reads, 0);
}

// Pages held ahead count for the whole hub: past max_read_ahead_bytes a
// reader reads one page at a time, and a lease gives its bytes back when it
// goes.
TEST_F(SnapshotHubTest, ReadersReadOnePageAtATimeWhileOthersHoldTheHubsReadAheadBytes) {
  members_ = 10500;  // 11 upstream pages.
  read_ahead_pages_ = 4;
  SnapshotHubOptions options;
  options.max_read_ahead_bytes = 1;  // Any page held ahead fills it.
  StartHub(options);
  clock_.EnableAutoAdvance(2);
  ASSERT_THAT(Stream(Followers()).status, IsOk());
  const FollowsQuery query{FollowsQuery::Finder::kFollowee, kPage,
                           v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE};
  read_ahead_->batch_reads = 0;
  read_ahead_->page_reads = 0;

  auto first = hub_->Open(query, std::nullopt, Requester{"a"});
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_EQ((*first)->TryPage(0)->kind, SnapshotLease::PageWait::Kind::kPage);
  EXPECT_EQ(read_ahead_->batch_reads, 1);  // Holds pages 1-3 now.

  auto second = hub_->Open(query, std::nullopt, Requester{"b"});
  ASSERT_THAT(second.status(), IsOk());
  for (int64_t seq = 0; seq < 3; ++seq) {
    ASSERT_EQ((*second)->TryPage(seq)->kind, SnapshotLease::PageWait::Kind::kPage);
  }
  EXPECT_EQ(read_ahead_->batch_reads, 1);
  EXPECT_EQ(read_ahead_->page_reads, 3);

  first->reset();  // Its pages held ahead are given back.
  ASSERT_EQ((*second)->TryPage(3)->kind, SnapshotLease::PageWait::Kind::kPage);
  EXPECT_EQ(read_ahead_->batch_reads, 2);
  EXPECT_EQ(read_ahead_->page_reads, 3);
}

TEST_F(SnapshotHubTest, ResumeTokenContinuesRightAfterItsPageWithoutRefetching) {
  clock_.EnableAutoAdvance(2);
  const Streamed first = Stream(Followers(v1::FOLLOWER_FILTER_ALL), /*stop_after=*/2);
  ASSERT_EQ(first.pages.size(), 2u);
  v1::StreamFollowersRequest resume = Followers(v1::FOLLOWER_FILTER_ALL);
  resume.set_resume_token(first.pages[1].resume_token());
  const Streamed rest = Stream(resume);
  ASSERT_THAT(rest.status, IsOk());
  std::vector<std::string> all = first.Followers();
  for (const auto& urn : rest.Followers()) all.push_back(urn);
  EXPECT_EQ(all.size(), 4503u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 4503u);
  EXPECT_EQ(rest.pages.front().sequence_number(), 2);
  EXPECT_TRUE(rest.pages.back().last_page());
  EXPECT_EQ(http_.sent().size(), 6u);  // 5 member pages + 1 page-follower page.

  // Resuming after the last page delivers nothing more.
  resume.set_resume_token(rest.pages.back().resume_token());
  const Streamed after_end = Stream(resume);
  ASSERT_THAT(after_end.status, IsOk());
  EXPECT_TRUE(after_end.pages.empty());
}

TEST_F(SnapshotHubTest, TokensOfOtherQueriesAndDamagedTokensAreRejected) {
  clock_.EnableAutoAdvance(2);
  const Streamed members = Stream(Followers(), 1);
  ASSERT_EQ(members.pages.size(), 1u);
  v1::StreamFollowersRequest other = Followers(v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES);
  other.set_resume_token(members.pages[0].resume_token());
  EXPECT_THAT(Stream(other).status, StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("belongs to another query")));
  v1::StreamFollowersRequest damaged = Followers();
  damaged.set_resume_token(members.pages[0].resume_token() + "x");
  EXPECT_THAT(Stream(damaged).status, StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("not a token this service issued")));
}

TEST_F(SnapshotHubTest, TheLargestAcceptedTokenValuesReadNothingAndNeverOverflow) {
  clock_.EnableAutoAdvance(2);
  const Streamed first = Stream(Followers());
  ASSERT_THAT(first.status, IsOk());
  auto place = tokens_.Decode("resume_token", first.pages[0].resume_token());
  ASSERT_THAT(place.status(), IsOk());
  ResumePoint far = *place;
  far.page = kMaxTokenPage;
  far.stream_sequence = kMaxTokenStreamSequence;
  far.edge_offset = kMaxTokenEdgeOffset;
  v1::StreamFollowersRequest resume = Followers();
  resume.set_resume_token(tokens_.Encode(far));
  const Streamed after = Stream(resume);
  ASSERT_THAT(after.status, IsOk());
  EXPECT_TRUE(after.pages.empty());

  v1::ListFollowersRequest list;
  list.set_followee(kPage);
  list.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
  list.set_page_size(700);
  CancellationToken never;
  auto listed = ListFollowers(hub_.get(), tokens_, list, {}, never);
  ASSERT_THAT(listed.status(), IsOk());
  auto list_place = tokens_.Decode("page_token", listed->next_page_token());
  ASSERT_THAT(list_place.status(), IsOk());
  list_place->page = kMaxTokenPage;
  list_place->edge_offset = kMaxTokenEdgeOffset;
  list.set_page_token(tokens_.Encode(*list_place));
  listed = ListFollowers(hub_.get(), tokens_, list, {}, never);
  ASSERT_THAT(listed.status(), IsOk());
  EXPECT_EQ(listed->edges_size(), 0);
  EXPECT_TRUE(listed->next_page_token().empty());

  // The hub's own arithmetic holds for any page number.
  auto lease = hub_->Reopen(far.snapshot_id, FollowsQuery{FollowsQuery::Finder::kFollowee, kPage,
                            v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE}, {});
  ASSERT_THAT(lease.status(), IsOk());
  auto wait = (*lease)->WaitForPage(std::numeric_limits<int64_t>::max(),
                                    absl::InfiniteFuture(), never);
  ASSERT_THAT(wait.status(), IsOk());
  EXPECT_EQ(wait->kind, SnapshotLease::PageWait::Kind::kEnd);
}

TEST_F(SnapshotHubTest, ZeroPaddedFolloweeReadsTheSnapshotOfItsCanonicalForm) {
  clock_.EnableAutoAdvance(2);
  v1::StreamFollowersRequest padded = Followers();
  padded.set_followee("urn:li:organizationalPage:00042");
  const Streamed first = Stream(padded);
  ASSERT_THAT(first.status, IsOk());
  ASSERT_EQ(http_.sent().size(), 5u);
  EXPECT_THAT(http_.sent()[0].request.url, HasSubstr("organizationalPage%3A42&"));
  const Streamed again = Stream(Followers());
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.Followers(), first.Followers());
  EXPECT_EQ(http_.sent().size(), 5u);
}

TEST_F(SnapshotHubTest, TokenSignedWithAnotherKeyIsRefused) {
  clock_.EnableAutoAdvance(2);
  const Streamed first = Stream(Followers(), 1);
  ASSERT_EQ(first.pages.size(), 1u);
  const ResumeTokenCodec other(std::string(ResumeTokenCodec::kKeyBytes, 'o'));
  auto place = tokens_.Decode("resume_token", first.pages[0].resume_token());
  ASSERT_THAT(place.status(), IsOk());
  v1::StreamFollowersRequest resume = Followers();
  resume.set_resume_token(other.Encode(*place));
  EXPECT_THAT(Stream(resume).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("resume_token is not a token this service issued")));
}

TEST_F(SnapshotHubTest, TokenOfADeletedSnapshotIsFailedPrecondition) {
  clock_.EnableAutoAdvance(2);
  const Streamed first = Stream(Followers());
  ASSERT_THAT(first.status, IsOk());
  clock_.Advance(absl::Hours(24 * 8));
  ASSERT_THAT(hub_->Prune(), IsOk());  // Older than the default week.
  v1::StreamFollowersRequest resume = Followers();
  resume.set_resume_token(first.pages[2].resume_token());
  EXPECT_THAT(Stream(resume).status,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("gone")));
}

TEST_F(SnapshotHubTest, RestartContinuesTheCrawlFromItsLastStoredCursor) {
  clock_.EnableAutoAdvance(2);
  const Streamed before = Stream(Followers(), /*stop_after=*/2);
  ASSERT_EQ(before.pages.size(), 2u);
  StartHub();  // As after a restart (the crawl stopped with its reader).
  v1::StreamFollowersRequest resume = Followers();
  resume.set_resume_token(before.pages[1].resume_token());
  const Streamed after = Stream(resume);
  ASSERT_THAT(after.status, IsOk());
  EXPECT_EQ(before.Followers().size() + after.Followers().size(), 4500u);
  // Pages 1-2 were stored before; at most the page in flight at the stop is
  // fetched again, never a stored one.
  std::multiset<std::string> urls;
  for (const auto& sent : http_.sent()) urls.insert(sent.request.url);
  for (const auto& url : urls) EXPECT_LE(urls.count(url), 2u) << url;
  EXPECT_LE(http_.sent().size(), 6u);
  EXPECT_EQ(urls.count(client_->RequestUrl({FollowsQuery::Finder::kFollowee, kPage,
                                            v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE},
                                           "")),
            1u);
}

TEST_F(SnapshotHubTest, CursorStoredBeforeARestartThatComesBackEndsTheCrawl) {
  clock_.EnableAutoAdvance(2);
  const Streamed before = Stream(Followers(), /*stop_after=*/2);
  ASSERT_EQ(before.pages.size(), 2u);
  StartHub();  // As after a restart.
  // From now on LinkedIn sends the first page's cursor again.
  const size_t requests_before = http_.sent().size();
  http_.SetHandler([this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
    absl::StatusOr<HttpResponse> response = FakeLinkedIn(r, first_member_, members_);
    const size_t at = response->body.find(R"("nextPaginationCursor":"o)");
    if (at != std::string::npos) response->body.replace(at + 24, 5, "o1000");
    return response;
  });
  v1::StreamFollowersRequest resume = Followers();
  resume.set_resume_token(before.pages[1].resume_token());
  const Streamed after = Stream(resume);
  EXPECT_THAT(after.status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("already seen in this sequence (\"o1000\")")));
  EXPECT_EQ(ErrorReason(after.status), "LINKEDIN_CURSOR_REPEATED");
  // Stopped after one request; the pages stored before stay, the offending
  // one is not stored.
  EXPECT_EQ(http_.sent().size(), requests_before + 1);
  auto info = store_->LatestInProgress(SnapshotQueryKey(
      {FollowsQuery::Finder::kFollowee, kPage,
       v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE}));
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_GE((*info)->page_count, 2);
  EXPECT_TRUE(after.pages.size() + before.pages.size() == static_cast<size_t>((*info)->page_count));
}

TEST_F(SnapshotHubTest, WaitingStreamsGetHeartbeatsWithTheirPlaceInTheQueue) {
  clock_.EnableAutoAdvance(2);
  const Streamed streamed = Stream(Followers(), -1, /*heartbeat_interval=*/absl::Seconds(7));
  ASSERT_THAT(streamed.status, IsOk());
  // Four waits of 60 s between five pages: a heartbeat every 7 s of each.
  EXPECT_EQ(streamed.heartbeats.size(), 4u * 8u);
  ASSERT_FALSE(streamed.heartbeats.empty());
  EXPECT_EQ(streamed.heartbeats[0].queue_position(), 0);
  EXPECT_EQ(streamed.heartbeats[0].estimated_wait().seconds(), 53);
  EXPECT_EQ(streamed.heartbeats[7].estimated_wait().seconds(), 4);
}

TEST_F(SnapshotHubTest, StreamWhoseDeadlineComesBeforeTheHeldBudgetEndsAtOnceWithRetryInfo) {
  pacer_->OnThrottled(absl::Minutes(10));  // LinkedIn asked for a 10-minute pause.
  clock_.EnableAutoAdvance(2);
  const absl::Time t0 = clock_.Now();
  const Streamed streamed = Stream(Followers(), -1, /*heartbeat_interval=*/absl::Seconds(7),
                                   /*deadline=*/t0 + absl::Seconds(30));
  EXPECT_THAT(streamed.status, StatusIs(absl::StatusCode::kResourceExhausted,
                                        HasSubstr("no slot for this stream before its deadline")));
  EXPECT_EQ(ErrorReason(streamed.status), "BUDGET_HELD");
  EXPECT_EQ(RetryDelay(streamed.status), absl::Minutes(10) - absl::Seconds(7));
  EXPECT_TRUE(streamed.pages.empty());
  EXPECT_LT(clock_.Now() - t0, absl::Seconds(30));  // Not waited out until the deadline.
}

TEST_F(SnapshotHubTest, StreamWithTimeEnoughWaitsForTheHeldBudget) {
  pacer_->OnThrottled(absl::Minutes(10));
  clock_.EnableAutoAdvance(2);
  const Streamed streamed = Stream(Followers(), -1, /*heartbeat_interval=*/absl::Seconds(7),
                                   /*deadline=*/clock_.Now() + absl::Hours(1));
  ASSERT_THAT(streamed.status, IsOk());
  EXPECT_EQ(streamed.pages.size(), 5u);
}

TEST_F(SnapshotHubTest, ListFollowersPagesIndependentlyOfUpstreamPages) {
  clock_.EnableAutoAdvance(2);
  v1::ListFollowersRequest request;
  request.set_followee(kPage);
  request.set_page_size(700);
  std::vector<std::string> urns;
  int calls = 0;
  CancellationToken never;
  do {
    auto page = ListFollowers(hub_.get(), tokens_, request, {}, never);
    ASSERT_TRUE(page.ok()) << page.status() << " at call " << calls;
    EXPECT_LE(page->edges_size(), 700);
    for (const auto& e : page->edges()) urns.push_back(e.follower().urn());
    request.set_page_token(page->next_page_token());
    ++calls;
  } while (!request.page_token().empty() && calls < 100);
  EXPECT_EQ(urns.size(), 4503u);
  EXPECT_EQ(std::set<std::string>(urns.begin(), urns.end()).size(), 4503u);
  EXPECT_EQ(calls, 7);  // ceil(4503 / 700)
  EXPECT_EQ(http_.sent().size(), 6u);

  request.set_page_token("");
  request.set_page_size(-1);
  EXPECT_THAT(ListFollowers(hub_.get(), tokens_, request, {}, never),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  request.set_page_size(50000);
  auto big = ListFollowers(hub_.get(), tokens_, request, {}, never);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->edges_size(), 4503);  // Capped at 10,000; all fit.
  EXPECT_TRUE(big->next_page_token().empty());
}

TEST_F(SnapshotHubTest, ChangesBetweenTheTwoNewestSnapshots) {
  clock_.EnableAutoAdvance(2);
  CancellationToken never;
  v1::StreamFollowerChangesRequest request;
  request.set_followee(kPage);
  request.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
  auto changes = [&] {
    std::vector<v1::FollowerChangesPage> pages;
    absl::Status status = StreamFollowerChanges(store_.get(), request, never,
                                                [&](v1::FollowerChangesPage page) {
                                                  pages.push_back(std::move(page));
                                                  return absl::OkStatus();
                                                });
    return std::make_pair(status, pages);
  };
  ASSERT_THAT(Stream(Followers()).status, IsOk());
  EXPECT_THAT(changes().first, StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("two complete snapshots")));
  first_member_ = 1200;  // m0..m1199 left; m4500..m5699 came.
  v1::StreamFollowersRequest fresh = Followers();
  fresh.mutable_max_staleness()->set_seconds(0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(Stream(fresh).status, IsOk());
  auto [status, pages] = changes();
  ASSERT_THAT(status, IsOk());
  std::set<std::string> followed, unfollowed;
  for (const auto& page : pages) {
    EXPECT_LE(page.changes_size(), 1000);
    for (const auto& change : page.changes()) {
      (change.change_type() == v1::FOLLOW_CHANGE_TYPE_FOLLOWED ? followed : unfollowed)
          .insert(change.edge().follower().urn());
    }
  }
  EXPECT_EQ(followed.size(), 1200u);
  EXPECT_EQ(unfollowed.size(), 1200u);
  EXPECT_EQ(followed.count("urn:li:person:m5699"), 1u);
  EXPECT_EQ(unfollowed.count("urn:li:person:m0"), 1u);
  EXPECT_TRUE(pages.back().last_page());
}

}  // namespace
}  // namespace followgate
