#include "server/upstream/linkedin_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "server/upstream/upstream_errors.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBase[] = "http://linkedin.test";
constexpr char kToken[] = "secret-token-123";

LinkedInClientOptions Options() {
  LinkedInClientOptions options;
  options.base_url = kBase;
  options.access_token = kToken;
  options.version = "202510";
  options.request_timeout = absl::Seconds(7);
  return options;
}

FollowsQuery Followers(const std::string& page) {
  FollowsQuery query;
  query.urn = page;
  query.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  return query;
}

constexpr char kTwoEdges[] = R"({
  "paging": {"start": 0, "count": 10, "links": [], "total": 2},
  "metadata": {"nextPaginationCursor": "NV9f"},
  "elements": [
    {"lastModifiedAt": 1701259792468, "follower": "urn:li:person:-f_Ut43FoQ",
     "followee": "urn:li:organizationalPage:123456",
     "edgeType": "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE"},
    {"lastModifiedAt": 1699980274432, "follower": "urn:li:person:szIhq",
     "followee": "urn:li:organizationalPage:123456",
     "edgeType": "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE"}
  ]})";

TEST(PercentEncode, EncodesEverythingButUnreserved) {
  EXPECT_EQ(PercentEncode("urn:li:organizationalPage:123"),
            "urn%3Ali%3AorganizationalPage%3A123");
  EXPECT_EQ(PercentEncode("a+b/c=d e(f),g"), "a%2Bb%2Fc%3Dd%20e%28f%29%2Cg");
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
}

TEST(LinkedInClient, FolloweeUrlEncodesUrnAndCursorAndAsksForAThousand) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  EXPECT_EQ(client.RequestUrl(Followers("urn:li:organizationalPage:42"), ""),
            "http://linkedin.test/rest/dmaOrganizationalPageFollows?q=followee"
            "&followee=urn%3Ali%3AorganizationalPage%3A42"
            "&edgeType=MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE&maxPaginationCount=1000");
  EXPECT_THAT(client.RequestUrl(Followers("urn:li:organizationalPage:42"), "a+b/c=="),
              HasSubstr("&paginationCursor=a%2Bb%2Fc%3D%3D"));
}

TEST(LinkedInClient, FollowerUrlUsesTheFollowerFinderWithoutEdgeType) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  FollowsQuery query;
  query.finder = FollowsQuery::Finder::kFollower;
  query.urn = "urn:li:person:ab+c";
  EXPECT_EQ(client.RequestUrl(query, ""),
            "http://linkedin.test/rest/dmaOrganizationalPageFollows?q=follower"
            "&follower=urn%3Ali%3Aperson%3Aab%2Bc&maxPaginationCount=1000");
}

TEST(LinkedInClient, SendsAuthVersionAndRestliHeadersWithTheTimeout) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  const FollowsQuery query = Followers("urn:li:organizationalPage:123456");
  http.Expect(client.RequestUrl(query, ""), 200, kTwoEdges);
  ASSERT_TRUE(client.FetchPage(query, "", nullptr).ok());
  const auto sent = http.sent();
  ASSERT_EQ(sent.size(), 1u);
  const HttpHeaders& headers = sent[0].request.headers;
  EXPECT_THAT(headers, ::testing::Contains(std::make_pair(
                           std::string("Authorization"), std::string("Bearer ") + kToken)));
  EXPECT_THAT(headers, ::testing::Contains(std::make_pair(
                           std::string("LinkedIn-Version"), std::string("202510"))));
  EXPECT_THAT(headers, ::testing::Contains(std::make_pair(
                           std::string("X-Restli-Protocol-Version"), std::string("2.0.0"))));
  EXPECT_EQ(sent[0].request.timeout, absl::Seconds(7));
}

TEST(LinkedInClient, ParsesEdgesCursorTotalAndFetchTime) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  const FollowsQuery query = Followers("urn:li:organizationalPage:123456");
  http.Expect(client.RequestUrl(query, ""), 200, kTwoEdges);
  auto page = client.FetchPage(query, "", nullptr);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->next_cursor, "NV9f");
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(page->fetch_time, clock.Now());
  ASSERT_EQ(page->edges.size(), 2);
  const v1::FollowEdge& first = page->edges[0];
  EXPECT_EQ(first.follower().urn(), "urn:li:person:-f_Ut43FoQ");
  EXPECT_EQ(first.follower().kind(), v1::FOLLOWER_KIND_MEMBER);
  EXPECT_EQ(first.followee(), "urn:li:organizationalPage:123456");
  EXPECT_EQ(first.edge_type(), v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  EXPECT_EQ(first.last_modified_time().seconds(), 1701259792);
  EXPECT_EQ(first.last_modified_time().nanos(), 468000000);
  EXPECT_EQ(page->edges[1].follower().kind(), v1::FOLLOWER_KIND_OBFUSCATED_MEMBER);
}

TEST(ParseFollowsPage, AbsentOrNullCursorMeansLastPage) {
  auto no_metadata = ParseFollowsPage(R"({"elements": []})");
  ASSERT_TRUE(no_metadata.ok());
  EXPECT_EQ(no_metadata->next_cursor, "");
  EXPECT_FALSE(no_metadata->total.has_value());
  auto null_cursor =
      ParseFollowsPage(R"({"metadata": {"nextPaginationCursor": null}, "elements": []})");
  ASSERT_TRUE(null_cursor.ok());
  EXPECT_EQ(null_cursor->next_cursor, "");
}

TEST(ParseFollowsPage, MalformedOrTruncatedBodyIsARetryableError) {
  for (const char* body :
       {"", "{", R"({"elements": [{"follower": "urn:li:person:x"})", "[]",
        R"({"paging": {}})", R"({"elements": {}})", R"({"elements": [1]})",
        R"({"elements": [{"follower": 7}]})",
        R"({"elements": [], "metadata": {"nextPaginationCursor": 5}})",
        R"({"elements": [{"follower": "urn:li:person:x", "lastModifiedAt": "x"}]})"}) {
    auto page = ParseFollowsPage(body);
    EXPECT_THAT(page, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("malformed")))
        << body;
    EXPECT_EQ(RetryAdviceOf(page.status()), RetryAdvice::kRetryAfterBackoff) << body;
  }
}

// A page of one element whose lastModifiedAt is `modified` (JSON text).
std::string OneEdgeModifiedAt(const std::string& modified) {
  return absl::StrCat(R"({"elements": [{"follower": "urn:li:person:x", "lastModifiedAt": )",
                      modified, "}]}");
}

TEST(ParseFollowsPage, LastModifiedAtOutsideTimestampRangeIsAnInvalidPageNotACrash) {
  for (const std::string modified :
       {"253402300800000", "-62135596800001", "1701259792468000",  // microseconds
        "9223372036854775807", "-9223372036854775808", "18446744073709551615"}) {
    auto page = ParseFollowsPage(OneEdgeModifiedAt(modified));
    EXPECT_THAT(page, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("lastModifiedAt")))
        << modified;
    EXPECT_EQ(ErrorReason(page.status()), "LINKEDIN_INVALID_PAGE") << modified;
    EXPECT_EQ(RetryAdviceOf(page.status()), RetryAdvice::kDoNotRetry) << modified;
  }
}

TEST(ParseFollowsPage, LastModifiedAtAtTheEdgesOfTheRangeIsAccepted) {
  auto last = ParseFollowsPage(OneEdgeModifiedAt("253402300799999"));
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->edges[0].last_modified_time().seconds(), 253402300799);
  auto first = ParseFollowsPage(OneEdgeModifiedAt("-62135596800000"));
  ASSERT_TRUE(first.ok()) << first.status();
}

TEST(ParseFollowsPage, MoreElementsThanRequestedIsRefusedAsPageTooLarge) {
  std::string elements;
  for (int i = 0; i <= kMaxPaginationCount; ++i) {
    absl::StrAppend(&elements, i == 0 ? "" : ",", R"({"follower":"urn:li:person:m)", i, R"("})");
  }
  auto page = ParseFollowsPage(absl::StrCat(R"({"elements":[)", elements, "]}"));
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kFailedPrecondition,
                             HasSubstr("1001 elements (maxPaginationCount=1000")));
  EXPECT_EQ(ErrorReason(page.status()), "LINKEDIN_PAGE_TOO_LARGE");
  EXPECT_EQ(RetryAdviceOf(page.status()), RetryAdvice::kDoNotRetry);
}

TEST(ParseFollowsPage, AbsurdUrnCursorOrTotalIsAnInvalidPage) {
  const std::string long_urn = absl::StrCat("urn:li:person:", std::string(300, 'a'));
  const std::pair<std::string, std::string> cases[] = {
      {absl::StrCat(R"({"elements":[{"follower":")", long_urn, R"("}]})"), "follower URN"},
      {absl::StrCat(R"({"elements":[{"follower":"urn:li:person:x","followee":")", long_urn,
                    R"("}]})"),
       "followee URN"},
      {absl::StrCat(R"({"elements":[],"metadata":{"nextPaginationCursor":")",
                    std::string(kMaxUpstreamCursorLength + 1, 'c'), R"("}})"),
       "nextPaginationCursor is 2049 characters"},
      {R"({"elements":[],"paging":{"total":-1}})", "paging.total -1"},
      {R"({"elements":[],"paging":{"total":18446744073709551615}})", "paging.total"},
  };
  for (const auto& [body, expected] : cases) {
    auto page = ParseFollowsPage(body);
    EXPECT_THAT(page, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(expected)))
        << expected;
    EXPECT_EQ(ErrorReason(page.status()), "LINKEDIN_INVALID_PAGE") << expected;
  }
}

TEST(LinkedInClient, ThrottledAnswerCarriesItsRetryAfter) {
  FakeClock clock;
  FakeHttpClient http(&clock);
  LinkedInClient client(&http, &clock, Options());
  HttpResponse throttled;
  throttled.status_code = 429;
  throttled.body = R"({"status":429,"code":"TOO_MANY_REQUESTS"})";
  throttled.headers = {{"Retry-After", "120"}};
  http.Expect(client.RequestUrl(Followers("urn:li:organizationalPage:1"), ""), throttled);
  auto page = client.FetchPage(Followers("urn:li:organizationalPage:1"), "", nullptr);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(RetryDelay(page.status()), absl::Seconds(120));
}

TEST(LinkedInClient, ErrorAnswersCarryLinkedInsMessageButNeverTheToken) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  const FollowsQuery query = Followers("urn:li:organizationalPage:9");
  http.Expect(client.RequestUrl(query, ""), 401,
              R"({"status":401,"serviceErrorCode":65602,"code":"EXPIRED_ACCESS_TOKEN",)"
              R"("message":"The token used in the request has expired"})");
  auto page = client.FetchPage(query, "", nullptr);
  EXPECT_THAT(page, StatusIs(absl::StatusCode::kUnauthenticated,
                             HasSubstr("EXPIRED_ACCESS_TOKEN: The token used in the "
                                       "request has expired")));
  EXPECT_THAT(std::string(page.status().message()), Not(HasSubstr(kToken)));
}

TEST(LinkedInClient, TransportFailuresBecomeRetryableUnavailable) {
  FakeClock clock;
  FakeHttpClient http;
  LinkedInClient client(&http, &clock, Options());
  const FollowsQuery query = Followers("urn:li:organizationalPage:9");
  const std::string url = client.RequestUrl(query, "");
  http.Expect(url, absl::DeadlineExceededError("timed out"));
  http.Expect(url, absl::DataLossError("truncated"));
  http.Expect(url, absl::UnavailableError("reset"));
  for (int i = 0; i < 3; ++i) {
    auto page = client.FetchPage(query, "", nullptr);
    EXPECT_THAT(page, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_EQ(RetryAdviceOf(page.status()), RetryAdvice::kRetryAfterBackoff);
  }
}

}  // namespace
}  // namespace followgate
