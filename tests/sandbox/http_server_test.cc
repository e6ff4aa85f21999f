#include "server/sandbox/http_server.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sandbox/http_query.h"
#include "server/sandbox/http_request_parser.h"
#include "server/sandbox/http_router.h"
#include "tests/sandbox/curl_client.h"

namespace followgate {
namespace sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

// Echoes what the server parsed, so tests can check the parsing end to end.
HttpReply Echo(const HttpRequest& request) {
  const std::string* probe = request.FindHeader("x-PROBE");
  HttpReply reply;
  reply.headers.push_back({"Content-Type", "text/plain"});
  reply.body =
      absl::StrCat(request.method, " ", request.path, " ?", request.query,
                   " probe=", probe ? *probe : "-", " body=", request.body);
  return reply;
}

std::unique_ptr<HttpServer> StartServer(HttpHandler handler) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(HttpServerOptions(), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::string Url(const HttpServer& server, const std::string& target) {
  return absl::StrCat("http://127.0.0.1:", server.port(), target);
}

TEST(QueryString, DecodesPercentEscapesAndPlusAsSpace) {
  absl::StatusOr<QueryParams> params =
      ParseQueryString("q=followee&c=%2B%2F%3D&s=a+b&eq=x=y&flag&&e=&q=2");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_THAT(*params,
              ElementsAre(Pair("q", "followee"), Pair("c", "+/="),
                          Pair("s", "a b"), Pair("eq", "x=y"), Pair("flag", ""),
                          Pair("e", ""), Pair("q", "2")));
}

TEST(QueryString, RawPlusInAValueBecomesASpace) {
  absl::StatusOr<QueryParams> params = ParseQueryString("cursor=+/+/AA==");
  ASSERT_TRUE(params.ok());
  EXPECT_THAT(*params, ElementsAre(Pair("cursor", " / /AA==")));
}

TEST(QueryString, ReportsMalformedPercentEscapes) {
  EXPECT_EQ(FindMalformedPercentEscape("%41%4"), 3u);
  EXPECT_EQ(FindMalformedPercentEscape("ab%zz"), 2u);
  EXPECT_EQ(FindMalformedPercentEscape("%"), 0u);
  EXPECT_EQ(FindMalformedPercentEscape("%41+%7e"), absl::nullopt);
  EXPECT_EQ(FormDecode("a%g1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseQueryString("a=1&b=%2").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RequestParser, ParsesRequestLineAndHeaders) {
  absl::StatusOr<HttpRequest> request = ParseRequestHead(
      "GET /rest/x?q=1&b=%20 HTTP/1.1\r\nHost: h\r\nLinkedIn-Version:  "
      "202501 \r\nEmpty:");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->path, "/rest/x");
  EXPECT_EQ(request->query, "q=1&b=%20");
  ASSERT_NE(request->FindHeader("linkedin-version"), nullptr);
  EXPECT_EQ(*request->FindHeader("LINKEDIN-VERSION"), "202501");
  EXPECT_EQ(*request->FindHeader("empty"), "");
  EXPECT_EQ(request->FindHeader("missing"), nullptr);
}

TEST(RequestParser, RejectsMalformedHeadsWithTheRightStatus) {
  const std::pair<std::string, int> cases[] = {
      {"", 400},
      {"GARBAGE", 400},
      {"GET", 400},
      {"GET /", 400},
      {"GET  / HTTP/1.1", 400},
      {"GET / HTTP/1.1 extra", 400},
      {"GET relative HTTP/1.1", 400},
      {"GET http://example.com/ HTTP/1.1", 400},
      {"G@T / HTTP/1.1", 400},
      {"GET /a b HTTP/1.1", 400},
      {std::string("GET /\x7f HTTP/1.1"), 400},
      {std::string("GET /\xff HTTP/1.1"), 400},
      {std::string("GET /\0 HTTP/1.1", 16), 400},
      {"GET / HTTP/1.1\r\nno colon", 400},
      {"GET / HTTP/1.1\r\n: empty name", 400},
      {"GET / HTTP/1.1\r\nBad Name: x", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded", 400},
      {"GET / HTTP/1.1\r\nA: b\rc", 400},
      {"GET / HTTP/1.1\r\nA: b\nC: d", 400},
      {"GET / HTTP/1.1\r\nA: \x01", 400},
      {"GET / HTTP/11", 400},
      {"GET / FTP/1.1", 400},
      {"GET / HTTP/2.0", 505},
      {"GET / HTTP/0.9", 505},
  };
  for (const auto& [head, status] : cases) {
    absl::StatusOr<HttpRequest> request = ParseRequestHead(head);
    ASSERT_FALSE(request.ok()) << "accepted: " << head;
    EXPECT_EQ(HttpStatusForParseError(request.status()), status) << head;
  }
}

TEST(RequestParser, ValidatesBodyFraming) {
  HttpRequest request;
  request.headers = {{"Content-Length", "12"}, {"content-length", "12"}};
  EXPECT_EQ(RequestBodyLength(request).value(), 12u);
  for (const char* bad :
       {"-1", "+5", "1 2", "", "0x10", "99999999999999999999999"}) {
    request.headers = {{"Content-Length", bad}};
    EXPECT_EQ(HttpStatusForParseError(RequestBodyLength(request).status()), 400)
        << bad;
  }
  request.headers = {{"Content-Length", "1"}, {"Content-Length", "2"}};
  EXPECT_EQ(RequestBodyLength(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.headers = {{"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(HttpStatusForParseError(RequestBodyLength(request).status()), 501);
}

TEST(HttpServer, BindsAnEphemeralPortOnLoopback) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  CurlClient client;
  const CurlResponse response =
      client.Get(Url(*server, "/a/b?x=1%202"), {"X-Probe: hello"});
  EXPECT_EQ(response.code, CURLE_OK);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "GET /a/b ?x=1%202 probe=hello body=");
}

TEST(HttpServer, RejectsAPortOutOfRange) {
  HttpServerOptions options;
  options.port = 70000;
  EXPECT_EQ(HttpServer::Start(options, Echo).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpServer, ReportsAPortInUse) {
  std::unique_ptr<HttpServer> first = StartServer(Echo);
  ASSERT_NE(first, nullptr);
  HttpServerOptions options;
  options.port = first->port();
  EXPECT_EQ(HttpServer::Start(options, Echo).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(HttpServer, KeepsConnectionsAlive) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  CurlClient client;
  EXPECT_EQ(client.Get(Url(*server, "/1")).new_connections, 1);
  const CurlResponse second = client.Get(Url(*server, "/2"));
  EXPECT_EQ(second.code, CURLE_OK);
  EXPECT_EQ(second.body, "GET /2 ? probe=- body=");
  EXPECT_EQ(second.new_connections, 0);
}

TEST(HttpServer, HonoursConnectionClose) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  CurlClient client;
  EXPECT_EQ(client.Get(Url(*server, "/1"), {"Connection: close"}).status, 200);
  EXPECT_EQ(client.Get(Url(*server, "/2")).new_connections, 1);
}

TEST(HttpServer, ReadsBodiesByContentLength) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  CurlClient client;
  const std::string big(100000, 'x');
  const CurlResponse response = client.Post(Url(*server, "/post"), big,
                                            {"Content-Type: application/json"});
  EXPECT_EQ(response.code, CURLE_OK);
  EXPECT_EQ(response.body, "POST /post ? probe=- body=" + big);
  EXPECT_EQ(client.Post(Url(*server, "/post"), "{}").body,
            "POST /post ? probe=- body={}");
}

TEST(HttpServer, AnswersPipelinedRequestsInOrder) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  const std::string response =
      RawExchange(server->port(),
                  "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                  "POST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                  "GET /three HTTP/1.1\r\nConnection: close\r\n\r\n");
  const size_t one = response.find("GET /one ? probe=- body=");
  const size_t two = response.find("POST /two ? probe=- body=abc");
  const size_t three = response.find("GET /three ? probe=- body=");
  ASSERT_NE(one, std::string::npos) << response;
  ASSERT_NE(two, std::string::npos) << response;
  ASSERT_NE(three, std::string::npos) << response;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
}

TEST(HttpServer, TruncatedReplyGivesPartialFile) {
  std::unique_ptr<HttpServer> server = StartServer([](const HttpRequest&) {
    HttpReply reply = HttpReply::Json(200, std::string(1000, '7'));
    reply.fault = HttpFault::kTruncate;
    return reply;
  });
  ASSERT_NE(server, nullptr);
  CurlClient client;
  const CurlResponse response = client.Get(Url(*server, "/"));
  EXPECT_EQ(response.code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, std::string(500, '7'));
}

TEST(HttpServer, ResetReplyGivesARecvError) {
  std::unique_ptr<HttpServer> server =
      StartServer([](const HttpRequest&) { return HttpReply::Reset(); });
  ASSERT_NE(server, nullptr);
  CurlClient client;
  const CurlResponse response = client.Get(Url(*server, "/"));
  EXPECT_EQ(response.code, CURLE_RECV_ERROR)
      << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 0);
}

TEST(HttpServer, DelaysTheReply) {
  std::unique_ptr<HttpServer> server = StartServer([](const HttpRequest&) {
    HttpReply reply = HttpReply::Json(200, "{}");
    reply.delay = absl::Milliseconds(100);
    return reply;
  });
  ASSERT_NE(server, nullptr);
  CurlClient client;
  const absl::Time start = absl::Now();
  EXPECT_EQ(client.Get(Url(*server, "/")).status, 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
}

TEST(HttpServer, StopEndsPendingDelaysAndJoinsConnections) {
  absl::Notification handler_entered;
  std::unique_ptr<HttpServer> server =
      StartServer([&handler_entered](const HttpRequest&) {
        handler_entered.Notify();
        HttpReply reply = HttpReply::Json(200, "{}");
        reply.delay = absl::Hours(1);
        return reply;
      });
  ASSERT_NE(server, nullptr);
  const std::string url = Url(*server, "/slow");
  CurlResponse response;
  std::thread caller([&response, url] {
    CurlClient client;
    response = client.Get(url);
  });
  handler_entered.WaitForNotification();
  const absl::Time start = absl::Now();
  server->Stop();
  caller.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(response.code, CURLE_GOT_NOTHING);
  server->Stop();  // Idempotent.
}

TEST(HttpServer, StopClosesIdleKeptAliveConnections) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  const std::string url = Url(*server, "/");
  CurlClient client;
  ASSERT_EQ(client.Get(url).status, 200);
  server.reset();  // Must not hang on the idle connection.
  EXPECT_EQ(client.Get(url).code, CURLE_COULDNT_CONNECT);
}

TEST(HttpServer, AnswersMalformedRequestsAndKeepsServing) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  const std::pair<std::string, std::string> cases[] = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
      {"GET\r\n\r\n", "HTTP/1.1 400 "},
      {std::string("\0\x01\x02\xff\r\n\r\n", 8), "HTTP/1.1 400 "},
      {"GET / HTTP/1.1 x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET nope HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 "},
      {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "HTTP/1.1 400 "},
      {"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400 "},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "HTTP/1.1 400 "},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 501 "},
      {"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n",
       "HTTP/1.1 413 "},
      {"GET / HTTP/1.1\r\nX: " + std::string(70000, 'a') + "\r\n\r\n",
       "HTTP/1.1 431 "},
      {"GET / HTTP/1.1\r\nX: " + std::string(200000, 'a'), "HTTP/1.1 431 "},
  };
  for (const auto& [request, expected] : cases) {
    EXPECT_THAT(RawExchange(server->port(), request), StartsWith(expected))
        << request.substr(0, 60);
  }
  // Incomplete requests are dropped without an answer.
  EXPECT_EQ(RawExchange(server->port(), "GET / HTTP/1.1\r\nHost: x"), "");
  EXPECT_EQ(RawExchange(server->port(),
                        "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
            "");
  CurlClient client;
  EXPECT_EQ(client.Get(Url(*server, "/still-alive")).status, 200);
}

TEST(HttpServer, SkipsBlankLinesBeforeARequest) {
  std::unique_ptr<HttpServer> server = StartServer(Echo);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(RawExchange(server->port(), "\r\n\r\nGET /x HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(HttpRouter, PicksTheLongestMatchingPrefix) {
  HttpRouter router(
      [](const HttpRequest&) { return HttpReply::Json(404, "fallback"); });
  router.Mount("/rest/",
               [](const HttpRequest&) { return HttpReply::Json(200, "rest"); });
  router.Mount("/rest/special", [](const HttpRequest&) {
    return HttpReply::Json(200, "special");
  });
  HttpRequest request;
  request.path = "/rest/other";
  EXPECT_EQ(router.Route(request).body, "rest");
  request.path = "/rest/special/x";
  EXPECT_EQ(router.Route(request).body, "special");
  request.path = "/elsewhere";
  EXPECT_EQ(router.Route(request).body, "fallback");
}

}  // namespace
}  // namespace sandbox
}  // namespace followgate
