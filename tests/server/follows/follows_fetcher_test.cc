#include "server/follows/follows_fetcher.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/base/secret_source.h"
#include "server/follows/request_pacer.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kInterval = absl::Seconds(60);
constexpr absl::Duration kBackoff = absl::Seconds(90);
constexpr char kPage[] = "urn:li:organizationalPage:42";

// A page body with `n` member followers numbered from `first`, and `cursor`
// as next cursor ("" for none).
std::string PageBody(int first, int n, const std::string& cursor) {
  std::string elements;
  for (int i = first; i < first + n; ++i) {
    absl::StrAppend(&elements, i == first ? "" : ",",
                    R"({"follower":"urn:li:person:m)", i, R"(","followee":")", kPage,
                    R"(","edgeType":"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE","lastModifiedAt":1})");
  }
  const std::string metadata =
      cursor.empty() ? "{}" : absl::StrCat(R"({"nextPaginationCursor":")", cursor, R"("})");
  return absl::StrCat(R"({"paging":{"start":0,"count":1000,"links":[],"total":5000},)",
                      R"("metadata":)", metadata, R"(,"elements":[)", elements, "]}");
}

FollowsQuery Members() {
  FollowsQuery query;
  query.urn = kPage;
  query.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  return query;
}


// The fetcher under test on a fake HTTP client and a self-advancing clock
// with one participant: the test thread.
class FetcherTest : public ::testing::Test {
 protected:
  FetcherTest()
      : http_(&clock_),
        client_(&http_, &clock_, ClientOptions()),
        pacer_(&clock_, kInterval),
        fetcher_(&client_, &pacer_, &clock_, {/*max_retries=*/2, kBackoff}) {
    clock_.EnableAutoAdvance(1);
    t0_ = clock_.Now();
  }

  static LinkedInClientOptions ClientOptions() {
    LinkedInClientOptions options;
    options.base_url = "http://li";
    options.access_token = "token";
    return options;
  }

  std::string Url(const FollowsQuery& query, const std::string& cursor) {
    return client_.RequestUrl(query, cursor);
  }

  // Fetches the sequence of `query`, collecting pages.
  absl::Status Stream(const FollowsQuery& query) {
    CancellationToken never;
    return fetcher_.FetchSequence(query, "", never, {}, [this](StreamedPage page) {
      pages_.push_back(std::move(page));
      return absl::OkStatus();
    });
  }

  std::vector<absl::Duration> RequestOffsets() {
    std::vector<absl::Duration> offsets;
    for (const auto& sent : http_.sent()) offsets.push_back(sent.at - t0_);
    return offsets;
  }

  FakeClock clock_;
  FakeHttpClient http_;
  LinkedInClient client_;
  RequestPacer pacer_;
  FollowsFetcher fetcher_;
  absl::Time t0_;
  std::vector<StreamedPage> pages_;
};

TEST_F(FetcherTest, EndsOnlyWhenCursorIsAbsent) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1000, "c+1/="));
  http_.Expect(Url(Members(), "c+1/="), 200, PageBody(1000, 3, "c2"));  // short page
  http_.Expect(Url(Members(), "c2"), 200, PageBody(1003, 0, "c3"));      // empty page
  http_.Expect(Url(Members(), "c3"), 200, PageBody(1003, 7, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  ASSERT_EQ(pages_.size(), 4u);
  std::vector<int> sizes;
  for (const auto& page : pages_) sizes.push_back(page.page.edges.size());
  EXPECT_THAT(sizes, ElementsAre(1000, 3, 0, 7));
  for (size_t i = 0; i < pages_.size(); ++i) {
    EXPECT_EQ(pages_[i].page.next_cursor.empty(), i == 3);
    EXPECT_EQ(pages_[i].page.total, 5000);
  }
}

TEST_F(FetcherTest, RequestsStartOneIntervalApart) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1000, "a"));
  http_.Expect(Url(Members(), "a"), 200, PageBody(1000, 1000, "b"));
  http_.Expect(Url(Members(), "b"), 200, PageBody(2000, 10, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  EXPECT_THAT(RequestOffsets(), ElementsAre(absl::ZeroDuration(), kInterval, 2 * kInterval));
  EXPECT_EQ(pages_[1].upstream_wait, kInterval);
}

TEST_F(FetcherTest, ServerErrorIsRetriedOnTheSameCursorAfterTheBackoff) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1000, "x"));
  http_.Expect(Url(Members(), "x"), 500, R"({"message":"boom"})");
  http_.Expect(Url(Members(), "x"), 200, PageBody(1000, 1, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  EXPECT_THAT(RequestOffsets(), ElementsAre(absl::ZeroDuration(), kInterval, kInterval + kBackoff));
  ASSERT_EQ(pages_.size(), 2u);  // Nothing repeated, nothing lost.
  EXPECT_EQ(pages_[1].attempts, 2);
  EXPECT_EQ(pages_[1].page.edges[0].follower().urn(), "urn:li:person:m1000");
}

TEST_F(FetcherTest, TimeoutTruncationAndResetAreRetriedAfterTheBackoff) {
  http_.Expect(Url(Members(), ""), absl::DeadlineExceededError("timed out"));
  http_.Expect(Url(Members(), ""), absl::DataLossError("truncated"));
  http_.Expect(Url(Members(), ""), absl::UnavailableError("reset"));
  ASSERT_THAT(Stream(Members()), StatusIs(absl::StatusCode::kUnavailable,
                                            HasSubstr("gave up after 3 attempts")));
  EXPECT_THAT(RequestOffsets(), ElementsAre(absl::ZeroDuration(), kBackoff, 2 * kBackoff));
  EXPECT_TRUE(pages_.empty());
}

TEST_F(FetcherTest, MalformedBodyIsRetriedNotTakenAsAnEmptyPage) {
  http_.Expect(Url(Members(), ""), 200, R"({"elements":[{"follower":"urn:li:pe)");
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 2, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  ASSERT_EQ(pages_.size(), 1u);
  EXPECT_EQ(pages_[0].page.edges.size(), 2);
}

TEST_F(FetcherTest, ThrottledRequestWaitsAWholeIntervalThenGivesUpAsResourceExhausted) {
  const std::string throttled =
      R"({"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS","message":"limit"})";
  http_.Expect(Url(Members(), ""), 429, throttled);
  http_.Expect(Url(Members(), ""), 429, throttled);
  http_.Expect(Url(Members(), ""), 429, throttled);
  ASSERT_THAT(Stream(Members()), StatusIs(absl::StatusCode::kResourceExhausted,
                                            HasSubstr("TOO_MANY_REQUESTS")));
  // Each 429 without Retry-After doubles the interval after the wait.
  EXPECT_THAT(RequestOffsets(), ElementsAre(absl::ZeroDuration(), kInterval, 3 * kInterval));
}

// A 429 answer with these headers.
HttpResponse Throttled(std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse response;
  response.status_code = 429;
  response.body = R"({"status":429,"code":"TOO_MANY_REQUESTS","message":"limit"})";
  response.headers = std::move(headers);
  return response;
}

TEST_F(FetcherTest, LinkedInsRetryAfterIsHonouredForEveryRequestOfTheProcess) {
  http_.Expect(Url(Members(), ""), Throttled({{"Retry-After", "150"}}));
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  EXPECT_THAT(RequestOffsets(), ElementsAre(absl::ZeroDuration(), absl::Seconds(150)));
  // A 429 slows the budget down too, delay named or not.
  EXPECT_EQ(pacer_.interval(), 2 * kInterval);
}

TEST_F(FetcherTest, RetryAfterBeyondMaxWaitEndsAtOnceWithRetryInfo) {
  http_.Expect(Url(Members(), ""), Throttled({{"Retry-After", "99999999"}}));
  const absl::Status status = Stream(Members());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("LinkedIn asked to wait 27777h46m39s (Retry-After), "
                                         "longer than --max_upstream_wait=10m")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_THROTTLED");
  EXPECT_EQ(RetryDelay(status), absl::Seconds(99999999));
  EXPECT_EQ(http_.sent().size(), 1u);
  EXPECT_EQ(clock_.Now(), t0_);  // Nothing waited.
  // Everyone else is held back, for at most the cap.
  EXPECT_EQ(pacer_.next_grant_time(), t0_ + absl::Minutes(10));
}

TEST(FollowsFetcher, AdaptiveIntervalAvoidsA429StormFromAStricterUpstream) {
  // The upstream allows one request per second; the pacer starts at 0.35 s.
  FakeClock clock;
  FakeHttpClient http(&clock);
  LinkedInClientOptions options;
  options.base_url = "http://li";
  LinkedInClient client(&http, &clock, options);
  RequestPacer pacer(&clock, absl::Milliseconds(350));
  FollowsFetcher fetcher(&client, &pacer, &clock, {/*max_retries=*/5, absl::Seconds(1)});
  std::optional<absl::Time> last_accepted;
  int page = 0, throttled = 0;
  http.SetHandler([&](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    if (last_accepted.has_value() && clock.Now() - *last_accepted < absl::Seconds(1)) {
      ++throttled;
      return Throttled({});
    }
    last_accepted = clock.Now();
    ++page;
    HttpResponse response;
    response.status_code = 200;
    response.body = PageBody(page * 1000, 1000, page < 13 ? absl::StrCat("p", page) : "");
    response.body.replace(response.body.find("5000"), 4, "13000");
    return response;
  });
  clock.EnableAutoAdvance(1);
  CancellationToken never;
  int pages = 0;
  ASSERT_THAT(fetcher.FetchSequence(Members(), "", never, {},
                                    [&](StreamedPage) {
                                      ++pages;
                                      return absl::OkStatus();
                                    }),
              IsOk());
  EXPECT_EQ(pages, 13);
  // 0.35 s -> 0.7 s -> 1.4 s after two 429s; one step back to 0.7 s after
  // ten answers costs one more.
  EXPECT_EQ(throttled, 3);
  EXPECT_EQ(http.sent().size(), 16u);
  EXPECT_EQ(pacer.interval(), absl::Milliseconds(1400));
}

TEST_F(FetcherTest, ThrottledThenSuccessContinues) {
  http_.Expect(Url(Members(), ""), 429, "{}");
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1, ""));
  ASSERT_THAT(Stream(Members()), IsOk());
  EXPECT_EQ(pages_.size(), 1u);
}

TEST_F(FetcherTest, ClientErrorsAreNotRetried) {
  const std::pair<int, absl::StatusCode> cases[] = {
      {400, absl::StatusCode::kInvalidArgument},
      {403, absl::StatusCode::kPermissionDenied},
      {404, absl::StatusCode::kNotFound},
      {426, absl::StatusCode::kFailedPrecondition},
      {401, absl::StatusCode::kUnauthenticated},  // Last: later requests would fail fast.
  };
  for (const auto& [http_status, code] : cases) {
    http_.Expect(Url(Members(), ""), http_status, R"({"message":"no"})");
    EXPECT_THAT(Stream(Members()), StatusIs(code, HasSubstr("no"))) << http_status;
  }
  EXPECT_EQ(http_.sent().size(), 5u);
}

// The Authorization header of a request.
std::string AuthorizationOf(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") return value;
  }
  return "";
}

// A token file, and a fetcher whose client reads it (checked for changes
// only hourly, so that only a 401 re-reads it within a test).
class RotatedTokenTest : public FetcherTest {
 protected:
  void SetUp() override {
    path_ = std::string(std::getenv("TEST_TMPDIR")) + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    WriteToken("old-token");
    auto source = SecretSource::Open(path_, "FOLLOWGATE_TEST_UNSET_VAR", &clock_, absl::Hours(1));
    ASSERT_THAT(source, IsOk());
    source_ = *source;
    LinkedInClientOptions options = ClientOptions();
    options.access_token.clear();
    options.token_source = *source;
    options.credential_name = "acme";
    rotating_client_ = std::make_unique<LinkedInClient>(&http_, &clock_, options);
    rotating_fetcher_ = std::make_unique<FollowsFetcher>(
        rotating_client_.get(), &pacer_, &clock_,
        FollowsFetcherOptions{/*max_retries=*/2, kBackoff});
  }
  void WriteToken(const std::string& token) {
    std::ofstream(path_ + ".next") << token << "\n";
    ASSERT_EQ(std::rename((path_ + ".next").c_str(), path_.c_str()), 0);
  }
  absl::Status Stream() {
    CancellationToken never;
    return rotating_fetcher_->FetchSequence(Members(), "", never, {}, [this](StreamedPage page) {
      pages_.push_back(std::move(page));
      return absl::OkStatus();
    });
  }

  std::string path_;
  std::shared_ptr<SecretSource> source_;
  std::unique_ptr<LinkedInClient> rotating_client_;
  std::unique_ptr<FollowsFetcher> rotating_fetcher_;
};

TEST_F(RotatedTokenTest, A401AfterTheTokenFileWasReplacedIsRetriedOnceWithTheNewTokenInTheNextSlot) {
  http_.Expect(Url(Members(), ""), 401, R"({"message":"expired"})");
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1, ""));
  WriteToken("new-token");  // Rotated; the hourly check has not seen it.
  ASSERT_THAT(Stream(), IsOk());
  EXPECT_EQ(pages_.size(), 1u);
  const auto sent = http_.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(AuthorizationOf(sent[0].request), "Bearer old-token");
  EXPECT_EQ(AuthorizationOf(sent[1].request), "Bearer new-token");
  EXPECT_GE(sent[1].at - sent[0].at, kInterval);  // Through the budget.
}

TEST_F(RotatedTokenTest, A401WithTheSameTokenInTheFileIsNotRetried) {
  http_.Expect(Url(Members(), ""), 401, R"({"message":"expired"})");
  EXPECT_THAT(Stream(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(http_.sent().size(), 1u);
}

TEST_F(RotatedTokenTest, ASecond401WithTheNewTokenIsReported) {
  http_.Expect(Url(Members(), ""), 401, R"({"message":"expired"})");
  http_.Expect(Url(Members(), ""), 401, R"({"message":"revoked"})");
  WriteToken("new-token");
  EXPECT_THAT(Stream(), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
  EXPECT_EQ(http_.sent().size(), 2u);
}

TEST_F(RotatedTokenTest, ARejectedTokenFailsFastWithoutARequestUntilANewTokenComes) {
  http_.Expect(Url(Members(), ""), 401, R"({"message":"revoked"})");
  EXPECT_THAT(Stream(), StatusIs(absl::StatusCode::kUnauthenticated));
  const absl::Status fast = Stream();
  EXPECT_THAT(fast, StatusIs(absl::StatusCode::kUnauthenticated,
                             HasSubstr("LinkedIn credential \"acme\": LinkedIn rejected its "
                                       "access token")));
  EXPECT_EQ(ErrorReason(fast).value_or(""), "LINKEDIN_TOKEN_REJECTED");
  EXPECT_EQ(http_.sent().size(), 1u);  // No request, no budget slot.
  WriteToken("new-token");
  ASSERT_THAT(source_->Reload(), IsOk());  // As SIGHUP or the periodic check.
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1, ""));
  EXPECT_THAT(Stream(), IsOk());
  ASSERT_EQ(http_.sent().size(), 2u);
  EXPECT_EQ(AuthorizationOf(http_.sent()[1].request), "Bearer new-token");
}

TEST_F(RotatedTokenTest, ARejectedTokenIsAskedAboutAgainAfterTheRetryTime) {
  http_.Expect(Url(Members(), ""), 401, R"({"message":"revoked"})");
  EXPECT_THAT(Stream(), StatusIs(absl::StatusCode::kUnauthenticated));
  clock_.Advance(absl::Minutes(5));
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1, ""));
  EXPECT_THAT(Stream(), IsOk());  // LinkedIn accepts it again after all.
  EXPECT_EQ(http_.sent().size(), 2u);
}

TEST_F(FetcherTest, PageCallbackErrorStopsTheStream) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 1000, "more"));
  CancellationToken never;
  const absl::Status status = fetcher_.FetchSequence(
      Members(), "", never, {},
      [](StreamedPage) { return absl::CancelledError("caller went away"); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(http_.sent().size(), 1u);
}

TEST_F(FetcherTest, SameCursorAgainEndsTheSequenceAfterTwoRequests) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 2, "c1"));
  http_.Expect(Url(Members(), "c1"), 200, PageBody(2, 2, "c1"));
  const absl::Status status = Stream(Members());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("page 2 of urn:li:organizationalPage:42 "
                                         "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE names a "
                                         "nextPaginationCursor already seen")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_CURSOR_REPEATED");
  // The offending page is not delivered (so never stored).
  EXPECT_EQ(pages_.size(), 1u);
  EXPECT_EQ(http_.sent().size(), 2u);
}

TEST_F(FetcherTest, CursorCycleEndsTheSequenceWhenItComesRound) {
  http_.Expect(Url(Members(), ""), 200, PageBody(0, 2, "a"));
  http_.Expect(Url(Members(), "a"), 200, PageBody(2, 2, "b"));
  http_.Expect(Url(Members(), "b"), 200, PageBody(4, 2, "a"));
  const absl::Status status = Stream(Members());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"a\"")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_CURSOR_REPEATED");
  EXPECT_EQ(pages_.size(), 2u);
}

TEST_F(FetcherTest, CursorSeenBeforeTheResumeEndsTheSequenceAtOnce) {
  http_.Expect(Url(Members(), "c2"), 200, PageBody(4, 2, "c1"));
  SequenceHistory history;
  history.cursors = {"c1", "c2"};
  history.pages = 2;
  CancellationToken never;
  const absl::Status status = fetcher_.FetchSequence(
      Members(), "c2", never, {},
      [this](StreamedPage page) {
        pages_.push_back(std::move(page));
        return absl::OkStatus();
      },
      history);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("page 3 of")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_CURSOR_REPEATED");
  EXPECT_TRUE(pages_.empty());
}

TEST_F(FetcherTest, SequenceFarLongerThanPagingTotalEnds) {
  // paging.total 5 allows 2 * 1 + 10 = 12 pages; fresh cursors for ever.
  int served = 0;
  http_.SetHandler([&served](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.status_code = 200;
    response.body = absl::StrCat(R"({"paging":{"total":5},"metadata":{"nextPaginationCursor":"n)",
                                 ++served, R"("},"elements":[]})");
    return response;
  });
  const absl::Status status = Stream(Members());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("brings the sequence to 13 pages (0 elements in this "
                                         "fetch) for a paging.total of 5")));
  EXPECT_EQ(ErrorReason(status), "LINKEDIN_SEQUENCE_TOO_LONG");
  EXPECT_EQ(pages_.size(), 12u);
  EXPECT_EQ(http_.sent().size(), 13u);
}

TEST(SequenceTooLong, AllowsHalfFullPagesAndATenthMoreElements) {
  EXPECT_FALSE(SequenceTooLong(/*pages=*/30, /*elements=*/12345, /*total=*/12345));
  EXPECT_FALSE(SequenceTooLong(2 * 13 + 10, 12345 + 1234 + 1000, 12345));
  EXPECT_TRUE(SequenceTooLong(2 * 13 + 11, 100, 12345));
  EXPECT_TRUE(SequenceTooLong(14, 12345 + 1234 + 1001, 12345));
  EXPECT_FALSE(SequenceTooLong(10, 1000, 0));
  EXPECT_TRUE(SequenceTooLong(11, 0, 0));
}

// The fetcher on a clock that the test moves by hand (or sets to advance
// itself for several threads).
struct ManualFetcher {
  ManualFetcher()
      : http(&clock),
        client(&http, &clock, [] {
          LinkedInClientOptions options;
          options.base_url = "http://li";
          return options;
        }()),
        pacer(&clock, kInterval),
        fetcher(&client, &pacer, &clock, {}) {}

  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client;
  RequestPacer pacer;
  FollowsFetcher fetcher;
};

TEST(FollowsFetcher, CancellationWhileWaitingStopsWithoutAnotherRequest) {
  ManualFetcher f;
  FakeClock& clock = f.clock;
  FakeHttpClient& http = f.http;
  LinkedInClient& client = f.client;
  FollowsFetcher& fetcher = f.fetcher;
  http.Expect(client.RequestUrl(Members(), ""), 200, PageBody(0, 1000, "next"));
  CancellationToken cancel;
  absl::Status status;
  std::thread streaming([&] {
    status = fetcher.FetchSequence(Members(), "", cancel, {},
                                   [](StreamedPage) { return absl::OkStatus(); });
  });
  clock.BlockUntilWaiters(1);  // Waiting for the second request's slot.
  cancel.Cancel();
  streaming.join();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(http.sent().size(), 1u);
}

TEST(FollowsFetcher, ConcurrentStreamsShareOneRateLimit) {
  ManualFetcher f;
  FakeClock& clock = f.clock;
  FakeHttpClient& http = f.http;
  FollowsFetcher& fetcher = f.fetcher;
  // Every page has a cursor "<page id>-<n>" until the third.
  http.SetHandler([](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
    const size_t at = request.url.find("paginationCursor=");
    const int n = at == std::string::npos ? 0 : request.url[request.url.size() - 1] - '0';
    HttpResponse response;
    response.status_code = 200;
    response.body = PageBody(n * 1000, 1000, n == 2 ? "" : absl::StrCat("p-", n + 1));
    return response;
  });
  constexpr int kStreams = 3;
  clock.EnableAutoAdvance(kStreams);
  std::vector<std::thread> streams;
  std::vector<int> pages(kStreams, 0);
  for (int i = 0; i < kStreams; ++i) {
    streams.emplace_back([&, i] {
      FollowsQuery query = Members();
      query.urn = absl::StrCat("urn:li:organizationalPage:", i + 1);
      CancellationToken never;
      EXPECT_THAT(fetcher.FetchSequence(query, "", never, {},
                                        [&](StreamedPage) {
                                          ++pages[i];
                                          return absl::OkStatus();
                                        }),
                  IsOk());
      clock.ParticipantDone();
    });
  }
  for (auto& t : streams) t.join();
  const auto sent = http.sent();
  ASSERT_EQ(sent.size(), 9u);
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_GE(sent[i].at - sent[i - 1].at, kInterval) << "request " << i;
  }
  EXPECT_THAT(pages, ElementsAre(3, 3, 3));
}

}  // namespace
}  // namespace followgate
