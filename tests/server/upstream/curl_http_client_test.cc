// The libcurl adapter against real HTTP servers on 127.0.0.1:0: the sandbox's
// raw HTTP server (for faults) and the LinkedIn sandbox (for encoding).
#include "server/upstream/curl_http_client.h"
#include "server/base/error_details.h"

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/upstream/linkedin_client.h"
#include "server/sandbox/http_server.h"
#include "server/sandbox/linkedin_sandbox.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using sandbox::HttpFault;
using sandbox::HttpReply;

// A loopback HTTP server answering every request with `reply`, remembering
// the last request.
class ScriptedServer {
 public:
  explicit ScriptedServer(HttpReply reply) : reply_(std::move(reply)) {
    auto server = sandbox::HttpServer::Start(
        {}, [this](const sandbox::HttpRequest& request) {
          absl::MutexLock lock(&mu_);
          last_ = request;
          return reply_;
        });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string url(const std::string& path = "/x") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  sandbox::HttpRequest last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  const HttpReply reply_;
  absl::Mutex mu_;
  sandbox::HttpRequest last_;
  std::unique_ptr<sandbox::HttpServer> server_;
};

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.timeout = absl::Seconds(20);
  return request;
}

TEST(CurlHttpClient, SendsHeadersAndBodyAndReturnsStatusHeadersAndBody) {
  HttpReply reply = HttpReply::Json(418, R"({"teapot":true})");
  reply.headers.push_back({"X-RateLimit-Reset", "17"});
  ScriptedServer server(reply);
  CurlHttpClient client;
  HttpRequest request = Get(server.url("/post?a=%2B"));
  request.method = "POST";
  request.headers = {{"Authorization", "Bearer k"}, {"Content-Type", "application/json"}};
  request.body = R"({"profileUrns":["u"]})";
  auto response = client.Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 418);
  EXPECT_EQ(response->body, R"({"teapot":true})");
  EXPECT_EQ(response->Header("x-ratelimit-reset"), "17");
  const sandbox::HttpRequest seen = server.last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/post?a=%2B");
  EXPECT_EQ(seen.body, request.body);
  ASSERT_NE(seen.FindHeader("authorization"), nullptr);
  EXPECT_EQ(*seen.FindHeader("authorization"), "Bearer k");
}

TEST(CurlHttpClient, TimeoutIsDeadlineExceeded) {
  HttpReply slow = HttpReply::Json(200, "{}");
  slow.delay = absl::Seconds(30);  // Cut short when the server stops.
  ScriptedServer server(slow);
  CurlHttpClient client;
  HttpRequest request = Get(server.url());
  request.timeout = absl::Milliseconds(300);
  EXPECT_THAT(client.Send(request),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
}

TEST(CurlHttpClient, TruncatedBodyIsDataLoss) {
  HttpReply truncated = HttpReply::Json(200, std::string(10000, 'x'));
  truncated.fault = HttpFault::kTruncate;
  ScriptedServer server(truncated);
  CurlHttpClient client;
  EXPECT_THAT(client.Send(Get(server.url())),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
}

TEST(CurlHttpClient, BodyBeyondTheLimitIsCutOffWithAnErrorNamingIt) {
  ScriptedServer server(HttpReply::Json(200, std::string(3 << 20, 'x')));
  CurlHttpClientOptions options;
  options.max_body_bytes = 1 << 20;
  CurlHttpClient client(options);
  EXPECT_THAT(client.Send(Get(server.url())),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("response body larger than the limit of 1048576 bytes "
                                 "(--max_upstream_body_bytes)")));
}

TEST(CurlHttpClient, ResetIsUnavailableAndMayHaveBeenSent) {
  ScriptedServer server(HttpReply::Reset());
  CurlHttpClient client;
  auto response = client.Send(Get(server.url()));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(IsRequestNeverSent(response.status()));
}

TEST(CurlHttpClient, RefusedConnectionIsUnavailableAndNeverSent) {
  std::string url;
  {
    ScriptedServer server(HttpReply::Json(200, "{}"));
    url = server.url();
  }  // Stopped: nothing listens on the port any more.
  CurlHttpClient client;
  auto response = client.Send(Get(url));
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("connect")));
  EXPECT_TRUE(IsRequestNeverSent(response.status()));
}

TEST(CurlHttpClient, CancellationAbortsAnExchangeInFlight) {
  HttpReply slow = HttpReply::Json(200, "{}");
  slow.delay = absl::Seconds(60);
  ScriptedServer server(slow);
  CurlHttpClient client;
  CancellationToken cancel;
  HttpRequest request = Get(server.url());
  request.timeout = absl::Seconds(60);
  request.cancel = &cancel;
  cancel.Cancel();
  EXPECT_THAT(client.Send(request), StatusIs(absl::StatusCode::kCancelled));
}

// LinkedInClient over libcurl against the LinkedIn sandbox.
class LinkedInOverCurl : public ::testing::Test {
 protected:
  void Start(sandbox::LinkedInSandboxOptions options) {
    auto linkedin = sandbox::LinkedInSandbox::Start(options);
    ASSERT_TRUE(linkedin.ok()) << linkedin.status();
    linkedin_ = *std::move(linkedin);
    token_ = options.access_token;
    LinkedInClientOptions client_options;
    client_options.base_url = linkedin_->base_url();
    client_options.access_token = token_;
    client_options.version = "202510";
    client_ = std::make_unique<LinkedInClient>(&http_, Clock::Real(), client_options);
    query_.urn = "urn:li:organizationalPage:42";
    query_.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  }

  CurlHttpClient http_;
  std::unique_ptr<sandbox::LinkedInSandbox> linkedin_;
  std::string token_;
  std::unique_ptr<LinkedInClient> client_;
  FollowsQuery query_;
};

TEST_F(LinkedInOverCurl, EachRequestUsesAFreshConnection) {
  // A reset on a reused keep-alive connection would make libcurl re-send the
  // request silently: a hidden extra upstream request. Fresh connections
  // make every reset visible.
  sandbox::LinkedInSandboxOptions options;
  options.pages = {{42, 10, 0}};
  Start(options);
  ASSERT_TRUE(client_->FetchPage(query_, "", nullptr).ok());
  linkedin_->AddFaults({sandbox::SandboxFault::Reset()});
  EXPECT_THAT(client_->FetchPage(query_, "", nullptr), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(linkedin_->Stats().requests, 2);
}

TEST_F(LinkedInOverCurl, PaginatesTheSandboxWithEncodedUrnsAndCursors) {
  sandbox::LinkedInSandboxOptions options;
  options.pages = {{42, 2345, 0}};
  options.masked_every = 2;  // Short pages that still carry a cursor.
  Start(options);
  std::set<std::string> followers;
  std::string cursor;
  int pages = 0;
  bool saw_short_page_with_cursor = false;
  do {
    auto page = client_->FetchPage(query_, cursor, nullptr);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& edge : page->edges) followers.insert(edge.follower().urn());
    if (!page->next_cursor.empty()) {
      EXPECT_THAT(page->next_cursor, ::testing::ContainsRegex("[+/=]"));
      saw_short_page_with_cursor |= page->edges.size() < kMaxPaginationCount;
    }
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 100);
  EXPECT_EQ(followers.size(), 2345u);
  EXPECT_TRUE(saw_short_page_with_cursor);
  for (const auto& request : linkedin_->Requests()) {
    EXPECT_THAT(request.target, HasSubstr("followee=urn%3Ali%3AorganizationalPage%3A42"));
    EXPECT_THAT(request.target, HasSubstr("maxPaginationCount=1000"));
    EXPECT_EQ(request.status, 200) << request.target;
    bool has_version = false, has_restli = false;
    for (const auto& header : request.headers) {
      has_version |= header.name == "LinkedIn-Version" && header.value == "202510";
      has_restli |= header.name == "X-Restli-Protocol-Version" && header.value == "2.0.0";
    }
    EXPECT_TRUE(has_version && has_restli) << request.target;
  }
}

TEST_F(LinkedInOverCurl, UnencodedCursorWouldBeRejected) {
  // The sandbox's cursors hold '+', which a server decodes as a space when it
  // is not percent-encoded: proof that the encoding above matters.
  sandbox::LinkedInSandboxOptions options;
  options.pages = {{42, 1500, 0}};
  Start(options);
  auto first = client_->FetchPage(query_, "", nullptr);
  ASSERT_TRUE(first.ok());
  HttpRequest raw =
      Get(client_->RequestUrl(query_, "") + "&paginationCursor=" + first->next_cursor);
  raw.headers = {{"Authorization", "Bearer " + token_},
                 {"LinkedIn-Version", "202510"},
                 {"X-Restli-Protocol-Version", "2.0.0"}};
  auto response = http_.Send(raw);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status_code, 400);
}

}  // namespace
}  // namespace followgate

namespace followgate {
namespace {

// The sandbox's hostile faults, through the real client and libcurl.
TEST_F(LinkedInOverCurl, HostileFaultsAreRefusedWithTheirOwnReasons) {
  sandbox::LinkedInSandboxOptions options;
  options.pages = {{42, 2500, 0}};
  Start(options);
  linkedin_->AddFaults({sandbox::SandboxFault::OversizedPage(1001),
                        sandbox::SandboxFault::BadTimestamp(253402300800000),
                        sandbox::SandboxFault::RetryAfter(99999999)});
  auto oversized = client_->FetchPage(query_, "", nullptr);
  EXPECT_THAT(oversized, StatusIs(absl::StatusCode::kFailedPrecondition,
                                  HasSubstr("1001 elements")));
  EXPECT_EQ(ErrorReason(oversized.status()), "LINKEDIN_PAGE_TOO_LARGE");
  auto bad_time = client_->FetchPage(query_, "", nullptr);
  EXPECT_THAT(bad_time, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 HasSubstr("lastModifiedAt 253402300800000")));
  EXPECT_EQ(ErrorReason(bad_time.status()), "LINKEDIN_INVALID_PAGE");
  auto throttled = client_->FetchPage(query_, "", nullptr);
  EXPECT_THAT(throttled, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(RetryDelay(throttled.status()), absl::Seconds(99999999));
}

TEST_F(LinkedInOverCurl, RepeatCursorFaultSendsTheRequestsCursorBack) {
  sandbox::LinkedInSandboxOptions options;
  options.pages = {{42, 2500, 0}};
  Start(options);
  auto first = client_->FetchPage(query_, "", nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  linkedin_->AddFaults({sandbox::SandboxFault::RepeatCursor()});
  auto second = client_->FetchPage(query_, first->next_cursor, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->next_cursor, first->next_cursor);
  EXPECT_EQ(second->edges.size(), 1000);
}

}  // namespace
}  // namespace followgate
