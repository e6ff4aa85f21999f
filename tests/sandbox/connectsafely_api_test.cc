// The ConnectSafely follow-invitations emulation, driven over HTTP on
// 127.0.0.1:0 through SandboxUpstreams (one server for both upstream APIs).

#include "server/sandbox/connectsafely_api.h"

#include <curl/curl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/sandbox_fault.h"
#include "server/sandbox/sandbox_upstreams.h"
#include "tests/sandbox/curl_client.h"

namespace followgate {
namespace sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kAuth[] = "Authorization: Bearer sandbox-api-key";
constexpr char kJson[] = "Content-Type: application/json";

std::string Urn(const std::string& id) {
  return absl::StrCat("urn:li:fsd_profile:", id);
}

std::string InvitePath(const std::string& company) {
  return absl::StrCat("/linkedin/organizations/", company,
                      "/follow-invitations");
}

std::string Body(const std::vector<std::string>& urns) {
  return Json({{"profileUrns", urns}}).dump();
}

Json ParseBody(const std::string& body) {
  return Json::parse(body, nullptr, /*allow_exceptions=*/false);
}

// The statuses of a 200 body's results, in order.
std::vector<std::string> Statuses(const std::string& body) {
  std::vector<std::string> statuses;
  const Json parsed = ParseBody(body);
  if (!parsed.contains("results") || !parsed["results"].is_array()) {
    return statuses;
  }
  for (const Json& result : parsed["results"]) {
    statuses.push_back(result.value("status", ""));
  }
  return statuses;
}

// The value of header `name` in a raw HTTP response, or "".
std::string HeaderValue(const std::string& response, const std::string& name) {
  const std::string key = absl::StrCat("\r\n", name, ": ");
  const size_t start = response.find(key);
  if (start == std::string::npos) return "";
  const size_t value = start + key.size();
  return response.substr(value, response.find("\r\n", value) - value);
}

// A POST on a fresh libcurl handle that gives up after `timeout`.
CURLcode PostWithTimeout(const std::string& url, const std::string& body,
                         absl::Duration timeout) {
  CURL* handle = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, kAuth);
  headers = curl_slist_append(headers, kJson);
  std::string ignored;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE,
                   static_cast<long>(body.size()));
  curl_easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, body.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  const CURLcode code = curl_easy_perform(handle);
  curl_slist_free_all(headers);
  curl_easy_cleanup(handle);
  return code;
}

class ConnectSafelyTest : public ::testing::Test {
 protected:
  void Start(SandboxUpstreamsOptions options = {}) {
    absl::StatusOr<std::unique_ptr<SandboxUpstreams>> upstreams =
        SandboxUpstreams::Start(options);
    ASSERT_TRUE(upstreams.ok()) << upstreams.status();
    upstreams_ = *std::move(upstreams);
  }

  ConnectSafelyApi& api() { return upstreams_->connectsafely(); }
  std::string Url(const std::string& target) {
    return upstreams_->base_url() + target;
  }

  CurlResponse Post(const std::string& company, const std::string& body,
                    const std::vector<std::string>& headers = {kAuth, kJson}) {
    return client_.Post(Url(InvitePath(company)), body, headers);
  }
  CurlResponse Invite(const std::string& company,
                      const std::vector<std::string>& urns) {
    return Post(company, Body(urns));
  }

  // The raw response to one POST on its own connection, headers included.
  std::string RawInvite(const std::string& company,
                        const std::vector<std::string>& urns) {
    const std::string body = Body(urns);
    return RawExchange(
        upstreams_->port(),
        absl::StrCat("POST ", InvitePath(company),
                     " HTTP/1.1\r\nHost: sandbox\r\n", kAuth, "\r\n", kJson,
                     "\r\nContent-Length: ", body.size(),
                     "\r\nConnection: close\r\n\r\n", body));
  }

  std::unique_ptr<SandboxUpstreams> upstreams_;
  CurlClient client_;
};

TEST_F(ConnectSafelyTest, SendsInvitationsWithTheDocumentedBody) {
  Start();
  const CurlResponse response = Post(
      "105672170",
      R"({"companyId":"105672170","profileUrns":["urn:li:fsd_profile:ACoA1",)"
      R"("urn:li:fsd_profile:ACoA2"]})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"success":true,"accountId":"696ce9e780e0483585e4e553",)"
            R"("companyId":"105672170","totalRequested":2,)"
            R"("totalSuccessful":2,"totalFailed":0,"results":[)"
            R"({"profileUrn":"urn:li:fsd_profile:ACoA1","success":true,)"
            R"("status":"SENT"},)"
            R"({"profileUrn":"urn:li:fsd_profile:ACoA2","success":true,)"
            R"("status":"SENT"}]})");
  EXPECT_TRUE(api().WasInvited(105672170, Urn("ACoA1")));
  EXPECT_FALSE(api().WasInvited(1000, Urn("ACoA1")));
}

TEST_F(ConnectSafelyTest, EchoesTheGivenAccountId) {
  Start();
  const CurlResponse response =
      Post("1000",
           R"({"accountId":"acct-7","profileUrns":["urn:li:fsd_profile:A"]})");
  EXPECT_EQ(ParseBody(response.body)["accountId"], "acct-7");
}

TEST_F(ConnectSafelyTest, MissingOrWrongApiKeyIs401AndProcessesNothing) {
  Start();
  for (const std::vector<std::string>& headers :
       std::vector<std::vector<std::string>>{
           {kJson},
           {kJson, "Authorization: Bearer other-key"},
           {kJson, "Authorization: Basic sandbox-api-key"},
           {kJson, "Authorization: Bearer "},
           {kJson, "Authorization: sandbox-api-key"}}) {
    const CurlResponse response = Post("1000", Body({Urn("A")}), headers);
    EXPECT_EQ(response.status, 401) << absl::StrJoin(headers, "; ");
    EXPECT_EQ(response.body,
              R"({"error":"Unauthorized - Invalid credentials"})");
  }
  EXPECT_EQ(Post("1000", Body({Urn("A")}),
                 {kJson, "authorization: bearer  sandbox-api-key"})
                .status,
            200);
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.requests, 6);
  EXPECT_EQ(stats.by_status.at(401), 5);
  EXPECT_EQ(stats.processed_requests, 1);
  EXPECT_EQ(api().ReceiveCount(1000, Urn("A")), 1);
}

TEST_F(ConnectSafelyTest, CompanyWithoutSuperAdminAccessIs403) {
  Start();
  for (const char* company : {"42", "105672171", "99999999999999999999999"}) {
    const CurlResponse response = Invite(company, {Urn("A")});
    EXPECT_EQ(response.status, 403) << company;
    EXPECT_EQ(response.body,
              R"({"error":"Request failed with status code 403"})");
  }
  EXPECT_EQ(api().Stats().profiles_received, 0);
  EXPECT_EQ(api().Received(42).size(), 0u);
}

TEST_F(ConnectSafelyTest, ConfiguredCompaniesDecideSuperAdminAccess) {
  SandboxUpstreamsOptions options;
  options.connectsafely.super_admin_companies = {42};
  Start(options);
  EXPECT_EQ(Invite("42", {Urn("A")}).status, 200);
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 403);
}

TEST_F(ConnectSafelyTest, MalformedRequestsAre400WithAnErrorText) {
  Start();
  std::vector<std::string> fifty_one;
  for (int i = 0; i < 51; ++i) fifty_one.push_back(Urn(absl::StrCat("P", i)));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc", Body({Urn("A")})},
      {"10a0", Body({Urn("A")})},
      {"", Body({Urn("A")})},
      {"-1000", Body({Urn("A")})},
      {"1000", "not json"},
      {"1000", ""},
      {"1000", "[]"},
      {"1000", "{}"},
      {"1000", R"({"profileUrns":"urn:li:fsd_profile:A"})"},
      {"1000", R"({"profileUrns":[]})"},
      {"1000", Body(fifty_one)},
      {"1000", R"({"profileUrns":[1]})"},
      {"1000", R"({"profileUrns":[null]})"},
      {"1000", R"({"accountId":5,"profileUrns":["urn:li:fsd_profile:A"]})"},
      {"1000", R"({"accountId":"","profileUrns":["urn:li:fsd_profile:A"]})"},
      {"1000",
       R"({"companyId":"105672170","profileUrns":["urn:li:fsd_profile:A"]})"},
      {"1000", R"({"companyId":1000,"profileUrns":["urn:li:fsd_profile:A"]})"},
      {"1000", R"({"companyId":"x","profileUrns":["urn:li:fsd_profile:A"]})"},
      // A 403 company with a bad body is still a 400: the body comes first.
      {"42", "{}"},
  };
  for (const auto& [company, body] : cases) {
    const CurlResponse response = Post(company, body);
    EXPECT_EQ(response.status, 400) << company << " " << body;
    const Json error = ParseBody(response.body);
    EXPECT_TRUE(error.is_object() && error.size() == 1 &&
                error.contains("error") && error["error"].is_string())
        << response.body;
  }
  EXPECT_THAT(Post("1000", Body(fifty_one)).body, HasSubstr("Maximum 50"));
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.processed_requests, 0);
  EXPECT_EQ(stats.profiles_received, 0);
  EXPECT_EQ(stats.max_profiles_in_a_request, 51);
  EXPECT_EQ(stats.by_status, (std::map<int, int64_t>{{400, 20}}));
}

TEST_F(ConnectSafelyTest, FiftyProfilesAreAcceptedAndAMatchingCompanyIsFine) {
  Start();
  std::vector<std::string> fifty;
  for (int i = 0; i < 50; ++i) fifty.push_back(Urn(absl::StrCat("P", i)));
  const CurlResponse response = Invite("1000", fifty);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(ParseBody(response.body)["totalSuccessful"], 50);
  EXPECT_EQ(Post("1000", R"({"companyId":"1000","accountId":null,)"
                         R"("profileUrns":["urn:li:fsd_profile:Z"]})")
                .status,
            200);
  EXPECT_EQ(api().Stats().max_profiles_in_a_request, 50);
}

TEST_F(ConnectSafelyTest, UnknownPathsAre404AndOtherMethods405) {
  Start();
  EXPECT_EQ(client_
                .Post(Url("/linkedin/organizations/1000/invitations"),
                      Body({Urn("A")}), {kAuth, kJson})
                .status,
            404);
  EXPECT_EQ(client_
                .Post(Url("/linkedin/organizations/1000/x/follow-invitations"),
                      Body({Urn("A")}), {kAuth, kJson})
                .status,
            404);
  const CurlResponse get = client_.Get(Url(InvitePath("1000")), {kAuth});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.body, R"({"error":"Method not allowed"})");
}

TEST_F(ConnectSafelyTest, AnswersOneResultPerProfile) {
  Start();
  const CurlResponse response =
      Invite("1000", {Urn("OK1"), "urn:li:person:123", Urn(""), Urn("a b"),
                      Urn("FriendNC"), Urn("OK1"), Urn("OK2")});
  ASSERT_EQ(response.status, 200);
  const Json body = ParseBody(response.body);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["totalRequested"], 7);
  EXPECT_EQ(body["totalSuccessful"], 2);
  EXPECT_EQ(body["totalFailed"], 5);
  EXPECT_THAT(Statuses(response.body),
              ElementsAre("SENT", "FAILED", "FAILED", "FAILED", "FAILED",
                          "ALREADY_INVITED", "SENT"));
  const Json& results = body["results"];
  EXPECT_EQ(results[1]["profileUrn"], "urn:li:person:123");
  EXPECT_EQ(results[1]["success"], false);
  EXPECT_EQ(results[1]["error"], "Invalid profile URN");
  EXPECT_EQ(results[2]["error"], "Invalid profile URN");
  EXPECT_EQ(results[3]["error"], "Invalid profile URN");
  EXPECT_EQ(results[4]["error"], "Not a 1st-degree connection of the account");
  EXPECT_EQ(results[5]["success"], false);
  EXPECT_TRUE(results[5].contains("error"));
  EXPECT_FALSE(results[0].contains("error"));
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.profiles_received, 7);
  EXPECT_EQ(stats.invitations_sent, 2);
  EXPECT_EQ(stats.duplicate_receipts, 1);  // OK1 twice in one request.
}

TEST_F(ConnectSafelyTest, RemembersInvitationsPerCompanyAcrossRequests) {
  Start();
  EXPECT_THAT(Statuses(Invite("1000", {Urn("A"), Urn("BNC")}).body),
              ElementsAre("SENT", "FAILED"));
  const CurlResponse again = Invite("1000", {Urn("A"), Urn("BNC")});
  EXPECT_THAT(Statuses(again.body), ElementsAre("ALREADY_INVITED", "FAILED"));
  EXPECT_EQ(ParseBody(again.body)["success"], false);
  EXPECT_EQ(ParseBody(again.body)["totalFailed"], 2);
  EXPECT_THAT(Statuses(Invite("105672170", {Urn("A")}).body),
              ElementsAre("SENT"));
  EXPECT_THAT(Statuses(Invite("1000", {Urn("A")}).body),
              ElementsAre("ALREADY_INVITED"));

  EXPECT_EQ(api().ReceiveCount(1000, Urn("A")), 3);
  EXPECT_EQ(api().ReceiveCount(1000, Urn("BNC")), 2);
  EXPECT_EQ(api().ReceiveCount(105672170, Urn("A")), 1);
  EXPECT_EQ(api().ReceiveCount(105672170, Urn("BNC")), 0);
  EXPECT_EQ(api().Received(1000),
            (std::map<std::string, int64_t>{{Urn("A"), 3}, {Urn("BNC"), 2}}));
  // Re-sending a never-SENT profile (BNC) is not a duplicate receipt.
  EXPECT_EQ(api().Stats().duplicate_receipts, 2);
}

TEST_F(ConnectSafelyTest, MonthlyCreditsRunOutPerCompany) {
  SandboxUpstreamsOptions options;
  options.connectsafely.credits_per_company = 2;
  Start(options);
  // Failures use no credit.
  EXPECT_THAT(Statuses(Invite("1000", {Urn("XNC"), "bad", Urn("A")}).body),
              ElementsAre("FAILED", "FAILED", "SENT"));
  const CurlResponse response = Invite("1000", {Urn("B"), Urn("C"), Urn("A")});
  EXPECT_THAT(Statuses(response.body),
              ElementsAre("SENT", "FAILED", "ALREADY_INVITED"));
  EXPECT_EQ(ParseBody(response.body)["results"][1]["error"],
            "No invitation credits left");
  EXPECT_FALSE(api().WasInvited(1000, Urn("C")));
  const CurlResponse empty = Invite("1000", {Urn("D")});
  EXPECT_EQ(ParseBody(empty.body)["success"], false);
  EXPECT_THAT(Statuses(Invite("105672170", {Urn("C"), Urn("D")}).body),
              ElementsAre("SENT", "SENT"));
}

TEST_F(ConnectSafelyTest, RateLimitAnswers429WithRetryHeaders) {
  SandboxUpstreamsOptions options;
  options.connectsafely.min_interval = absl::Hours(1);
  Start(options);
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 200);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string raw = RawInvite("1000", {Urn("B")});
  EXPECT_TRUE(absl::StartsWith(raw, "HTTP/1.1 429 ")) << raw;
  EXPECT_TRUE(absl::EndsWith(raw, R"({"error":"Too many requests"})")) << raw;
  int64_t retry_after = 0;
  int64_t reset = 0;
  ASSERT_TRUE(absl::SimpleAtoi(HeaderValue(raw, "Retry-After"), &retry_after))
      << raw;
  ASSERT_TRUE(absl::SimpleAtoi(HeaderValue(raw, "X-RateLimit-Reset"), &reset))
      << raw;
  EXPECT_GE(retry_after, 3500);
  EXPECT_LE(retry_after, 3600);
  EXPECT_GE(reset, now + 3500);
  EXPECT_LE(reset, now + 3602);
  EXPECT_EQ(HeaderValue(raw, "X-RateLimit-Limit"), "1");
  EXPECT_EQ(HeaderValue(raw, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(Invite("1000", {Urn("B")}).status, 429);

  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.throttled, 2);
  EXPECT_EQ(stats.by_status, (std::map<int, int64_t>{{200, 1}, {429, 2}}));
  EXPECT_EQ(api().ReceiveCount(1000, Urn("B")), 0);
  // A wrong key is answered 401 before the rate limit is looked at.
  EXPECT_EQ(Post("1000", Body({Urn("B")}), {kJson}).status, 401);
  api().Reset();
  EXPECT_EQ(Invite("1000", {Urn("B")}).status, 200);
}

TEST_F(ConnectSafelyTest, StatusFaultsAnswerErrorsWithoutProcessing) {
  Start();
  api().AddFaults({SandboxFault::Status(500), SandboxFault::Status(503),
                   SandboxFault::Status(429), SandboxFault::Status(401)});
  const CurlResponse failed = Invite("1000", {Urn("A")});
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(failed.body,
            R"({"error":"Failed to send company follow invitations"})");
  const CurlResponse unavailable = Invite("1000", {Urn("A")});
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body,
            R"({"error":"Request failed with status code 503"})");
  const std::string throttled = RawInvite("1000", {Urn("A")});
  EXPECT_TRUE(absl::StartsWith(throttled, "HTTP/1.1 429 ")) << throttled;
  EXPECT_EQ(HeaderValue(throttled, "Retry-After"), "1");
  EXPECT_EQ(Invite("1000", {Urn("A")}).body,
            R"({"error":"Unauthorized - Invalid credentials"})");
  EXPECT_EQ(api().ReceiveCount(1000, Urn("A")), 0);
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 200);
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.throttled, 0);
  EXPECT_EQ(stats.processed_requests, 1);
  EXPECT_EQ(stats.faults_pending, 0);
}

TEST_F(ConnectSafelyTest, RetryAfterFaultAnswers429WithThatDelay) {
  Start();
  api().AddFaults({SandboxFault::RetryAfter(99999999)});
  const std::string throttled = RawInvite("1000", {Urn("A")});
  EXPECT_TRUE(absl::StartsWith(throttled, "HTTP/1.1 429 ")) << throttled;
  EXPECT_EQ(HeaderValue(throttled, "Retry-After"), "99999999");
  EXPECT_EQ(api().ReceiveCount(1000, Urn("A")), 0);
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 200);
}

TEST_F(ConnectSafelyTest, ResetFaultProcessesNothing) {
  Start();
  api().AddFaults({SandboxFault::Reset()});
  // A fresh connection: libcurl silently retries a request once when a
  // reused connection is reset before any response byte.
  CurlClient fresh;
  EXPECT_EQ(
      fresh.Post(Url(InvitePath("1000")), Body({Urn("A")}), {kAuth, kJson})
          .code,
      CURLE_RECV_ERROR);
  EXPECT_EQ(api().ReceiveCount(1000, Urn("A")), 0);
  EXPECT_THAT(Statuses(Invite("1000", {Urn("A")}).body), ElementsAre("SENT"));
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.connection_resets, 1);
  EXPECT_EQ(stats.lost_responses, 0);
  EXPECT_EQ(stats.duplicate_receipts, 0);
}

TEST_F(ConnectSafelyTest, LostFaultProcessesTheRequestThenResets) {
  Start();
  api().AddFaults({SandboxFault::Lost()});
  CurlClient fresh;
  const CurlResponse lost = fresh.Post(
      Url(InvitePath("1000")), Body({Urn("A"), Urn("B")}), {kAuth, kJson});
  EXPECT_EQ(lost.code, CURLE_RECV_ERROR);
  EXPECT_EQ(lost.status, 0);
  EXPECT_TRUE(api().WasInvited(1000, Urn("A")));
  EXPECT_TRUE(api().WasInvited(1000, Urn("B")));
  // A client that blindly retries re-sends both: the sandbox notices.
  EXPECT_THAT(Statuses(Invite("1000", {Urn("A"), Urn("B")}).body),
              ElementsAre("ALREADY_INVITED", "ALREADY_INVITED"));
  const ConnectSafelyStats stats = api().Stats();
  EXPECT_EQ(stats.lost_responses, 1);
  EXPECT_EQ(stats.connection_resets, 1);
  EXPECT_EQ(stats.processed_requests, 2);
  EXPECT_EQ(stats.duplicate_receipts, 2);
  EXPECT_EQ(stats.by_status, (std::map<int, int64_t>{{200, 1}}));
}

TEST_F(ConnectSafelyTest, LibcurlResendsAPostWhoseReusedConnectionWasLost) {
  Start();
  ASSERT_EQ(Invite("1000", {Urn("A")}).status, 200);  // Keeps a connection.
  api().AddFaults({SandboxFault::Lost()});
  // libcurl retries once on a fresh connection, POST body included, so the
  // caller sees a clean 200 while the profile was sent twice.
  const CurlResponse response = Invite("1000", {Urn("B")});
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(Statuses(response.body), ElementsAre("ALREADY_INVITED"));
  EXPECT_EQ(api().ReceiveCount(1000, Urn("B")), 2);
  EXPECT_EQ(api().Stats().duplicate_receipts, 1);
}

TEST_F(ConnectSafelyTest, TruncateFaultProcessesAndCutsTheBody) {
  Start();
  api().AddFaults({SandboxFault::Truncate()});
  const CurlResponse truncated = Invite("1000", {Urn("A")});
  EXPECT_EQ(truncated.code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(truncated.status, 200);
  EXPECT_THAT(truncated.body, HasSubstr(R"({"success":true)"));
  EXPECT_TRUE(api().WasInvited(1000, Urn("A")));
}

TEST_F(ConnectSafelyTest, SlowFaultProcessesBeforeTheLateAnswer) {
  Start();
  api().AddFaults({SandboxFault::Slow(absl::Minutes(10)),
                   SandboxFault::Slow(absl::Milliseconds(50))});
  EXPECT_EQ(PostWithTimeout(Url(InvitePath("1000")), Body({Urn("A")}),
                            absl::Seconds(1)),
            CURLE_OPERATION_TIMEDOUT);
  // The client gave up, yet the invitation went out.
  EXPECT_TRUE(api().WasInvited(1000, Urn("A")));

  const absl::Time before = absl::Now();
  const CurlResponse slow = Invite("1000", {Urn("B")});
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(50));
  EXPECT_THAT(Statuses(slow.body), ElementsAre("SENT"));
}

TEST_F(ConnectSafelyTest, ConcurrentDuplicatesAreSentOnce) {
  Start();
  constexpr int kThreads = 4;
  std::vector<std::string> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([this, i, &statuses] {
      CurlClient client;
      const CurlResponse response = client.Post(
          Url(InvitePath("1000")), Body({Urn("Same")}), {kAuth, kJson});
      const std::vector<std::string> result = Statuses(response.body);
      statuses[i] = result.empty() ? "" : result[0];
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "SENT"), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "ALREADY_INVITED"),
            kThreads - 1);
  EXPECT_EQ(api().ReceiveCount(1000, Urn("Same")), kThreads);
  EXPECT_EQ(api().Stats().duplicate_receipts, kThreads - 1);
}

TEST_F(ConnectSafelyTest, AdminEndpointsQueueFaultsReportAndReset) {
  Start();
  const std::string admin = Url("/_sandbox/connectsafely/");
  const CurlResponse queued = client_.Post(
      admin + "faults", R"([{"kind":"lost"},{"kind":"status","status":502}])",
      {kJson});
  EXPECT_EQ(queued.status, 200);
  EXPECT_EQ(ParseBody(queued.body)["faults_pending"], 2);
  CurlClient fresh;
  EXPECT_EQ(
      fresh.Post(Url(InvitePath("1000")), Body({Urn("A")}), {kAuth, kJson})
          .code,
      CURLE_RECV_ERROR);
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 502);
  EXPECT_EQ(Invite("1000", {Urn("A"), Urn("B")}).status, 200);

  const Json stats = ParseBody(client_.Get(admin + "stats").body);
  EXPECT_EQ(stats["requests"], 3);
  EXPECT_EQ(stats["by_status"], Json({{"200", 1}, {"502", 1}}));
  EXPECT_EQ(stats["throttled"], 0);
  EXPECT_EQ(stats["connection_resets"], 1);
  EXPECT_EQ(stats["lost_responses"], 1);
  EXPECT_EQ(stats["processed_requests"], 2);
  EXPECT_EQ(stats["max_profiles_in_a_request"], 2);
  EXPECT_EQ(stats["profiles_received"], 3);
  EXPECT_EQ(stats["invitations_sent"], 2);
  EXPECT_EQ(stats["duplicate_receipts"], 1);
  EXPECT_EQ(stats["faults_pending"], 0);

  const CurlResponse received = client_.Get(admin + "received?company=1000");
  EXPECT_EQ(received.status, 200);
  EXPECT_EQ(ParseBody(received.body), Json({{Urn("A"), 2}, {Urn("B"), 1}}));
  EXPECT_EQ(client_.Get(admin + "received?company=42").body, "{}");
  EXPECT_EQ(client_.Get(admin + "received").status, 400);
  EXPECT_EQ(client_.Get(admin + "received?company=abc").status, 400);
  EXPECT_EQ(client_.Get(admin + "received?company=%zz").status, 400);

  const CurlResponse reset = client_.Post(admin + "reset", "");
  EXPECT_EQ(reset.status, 200);
  EXPECT_EQ(ParseBody(reset.body)["requests"], 0);
  EXPECT_EQ(ParseBody(reset.body)["duplicate_receipts"], 0);
  EXPECT_EQ(client_.Get(admin + "received?company=1000").body, "{}");
  EXPECT_THAT(Statuses(Invite("1000", {Urn("A")}).body), ElementsAre("SENT"));
}

TEST_F(ConnectSafelyTest, AdminRejectsMalformedFaultsAndUnknownEndpoints) {
  Start();
  const std::string admin = Url("/_sandbox/connectsafely/");
  for (const char* body :
       {"", "{", "{}", "[1]", R"([{"kind":"lost"},{"kind":"explode"}])",
        R"([{"kind":"status","status":399}])"}) {
    EXPECT_EQ(client_.Post(admin + "faults", body).status, 400) << body;
  }
  EXPECT_EQ(api().Stats().faults_pending, 0);
  EXPECT_EQ(client_.Get(admin + "faults").status, 405);
  EXPECT_EQ(client_.Post(admin + "stats", "").status, 405);
  EXPECT_EQ(client_.Get(admin + "reset").status, 405);
  EXPECT_EQ(client_.Get(admin + "nope").status, 404);
  EXPECT_EQ(api().Stats().requests, 0);  // Admin calls are not counted.
}

TEST_F(ConnectSafelyTest, BothApisShareOnePortAndKeepSeparateState) {
  Start();
  upstreams_->linkedin().AddFaults({SandboxFault::Status(500)});
  EXPECT_EQ(Invite("1000", {Urn("A")}).status, 200);
  const CurlResponse linkedin = client_.Get(
      Url("/rest/dmaOrganizationalPageFollows?q=followee&followee=" +
          UrlEncode("urn:li:organizationalPage:1000") +
          "&edgeType=MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE&maxPaginationCount=1"),
      {"Authorization: Bearer sandbox-token", "LinkedIn-Version: 202501",
       "X-Restli-Protocol-Version: 2.0.0"});
  EXPECT_EQ(linkedin.status, 500);  // LinkedIn's fault, not ConnectSafely's.
  EXPECT_EQ(upstreams_->linkedin().Stats().requests, 1);
  EXPECT_EQ(api().Stats().requests, 1);
  EXPECT_EQ(client_.Get(Url("/_sandbox/stats")).status, 200);
  EXPECT_EQ(upstreams_->base_url(),
            absl::StrCat("http://127.0.0.1:", upstreams_->port()));
}

TEST_F(ConnectSafelyTest, LinkedInTreatsLostLikeReset) {
  Start();
  upstreams_->linkedin().AddFaults({SandboxFault::Lost()});
  CurlClient fresh;
  EXPECT_EQ(fresh
                .Get(Url("/rest/dmaOrganizationalPageFollows?q=followee"),
                     {"Authorization: Bearer sandbox-token"})
                .code,
            CURLE_RECV_ERROR);
  EXPECT_EQ(upstreams_->linkedin().Stats().connection_resets, 1);
}

TEST(ConnectSafelyOptionsTest, RejectsBadOptions) {
  auto create_code = [](ConnectSafelyOptions options) {
    return ConnectSafelyApi::Create(options).status().code();
  };
  EXPECT_EQ(create_code({}), absl::StatusCode::kOk);
  ConnectSafelyOptions options;
  options.api_key = "has space";
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.api_key = "";
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.super_admin_companies = {};
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.super_admin_companies = {1000, 0};
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.default_account_id = "";
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.credits_per_company = -1;
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.min_interval = -absl::Seconds(1);
  EXPECT_EQ(create_code(options), absl::StatusCode::kInvalidArgument);

  SandboxUpstreamsOptions upstreams;
  upstreams.connectsafely.api_key = "";
  EXPECT_EQ(SandboxUpstreams::Start(upstreams).status().code(),
            absl::StatusCode::kInvalidArgument);
  upstreams = {};
  upstreams.linkedin.port = -1;
  EXPECT_EQ(SandboxUpstreams::Start(upstreams).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CompanyIdsFlag, ParsesAndRejects) {
  absl::StatusOr<std::vector<int64_t>> ids = ParseCompanyIds("105672170, 1000");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre(105672170, 1000));
  for (const char* bad :
       {"", "1000,", "a", "0", "-5", "1,,2", "+7", "99999999999999999999"}) {
    EXPECT_EQ(ParseCompanyIds(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(SandboxFaultParsing, AcceptsLost) {
  absl::StatusOr<std::vector<SandboxFault>> faults =
      ParseSandboxFaults(R"([{"kind":"lost"},{"kind":"reset"}])");
  ASSERT_TRUE(faults.ok()) << faults.status();
  ASSERT_EQ(faults->size(), 2u);
  EXPECT_EQ((*faults)[0].kind, SandboxFault::Kind::kLost);
  EXPECT_EQ((*faults)[1].kind, SandboxFault::Kind::kReset);
}

}  // namespace
}  // namespace sandbox
}  // namespace followgate
