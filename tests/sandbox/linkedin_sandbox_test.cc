#include "server/sandbox/linkedin_sandbox.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/linkedin_cursor.h"
#include "server/sandbox/linkedin_dataset.h"
#include "tests/sandbox/curl_client.h"

namespace followgate {
namespace sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using Json = nlohmann::json;

constexpr char kMembers[] = "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE";
constexpr char kPages[] = "ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE";

const std::vector<std::string>& GoodHeaders() {
  static const auto* const kHeaders = new std::vector<std::string>{
      "Authorization: Bearer sandbox-token", "LinkedIn-Version: 202501",
      "X-Restli-Protocol-Version: 2.0.0"};
  return *kHeaders;
}

std::string PageUrn(int64_t id) {
  return absl::StrCat("urn:li:organizationalPage:", id);
}

std::string FolloweeQuery(int64_t page, const std::string& edge_type, int count,
                          const std::string& cursor = "") {
  std::string query =
      absl::StrCat("/rest/dmaOrganizationalPageFollows?q=followee&followee=",
                   UrlEncode(PageUrn(page)), "&edgeType=", edge_type,
                   "&maxPaginationCount=", count);
  if (!cursor.empty()) {
    absl::StrAppend(&query, "&paginationCursor=", UrlEncode(cursor));
  }
  return query;
}

std::string FollowerQuery(const std::string& follower, int count,
                          const std::string& cursor = "") {
  std::string query =
      absl::StrCat("/rest/dmaOrganizationalPageFollows?q=follower&follower=",
                   UrlEncode(follower), "&maxPaginationCount=", count);
  if (!cursor.empty()) {
    absl::StrAppend(&query, "&paginationCursor=", UrlEncode(cursor));
  }
  return query;
}

Json ParseBody(const CurlResponse& response) {
  return Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
}

std::string NextCursor(const Json& page) {
  const Json& metadata = page["metadata"];
  return metadata.contains("nextPaginationCursor")
             ? metadata["nextPaginationCursor"].get<std::string>()
             : "";
}

class LinkedInSandboxTest : public ::testing::Test {
 protected:
  void Start(LinkedInSandboxOptions options = {}) {
    absl::StatusOr<std::unique_ptr<LinkedInSandbox>> sandbox =
        LinkedInSandbox::Start(options);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
  }

  CurlResponse Get(const std::string& target,
                   const std::vector<std::string>& headers = GoodHeaders()) {
    return client_.Get(sandbox_->base_url() + target, headers);
  }

  // Pages through a finder until no cursor comes back; returns the pages.
  std::vector<Json> AllPages(
      const std::function<std::string(const std::string&)>& target_for) {
    std::vector<Json> pages;
    std::string cursor;
    do {
      const CurlResponse response = Get(target_for(cursor));
      EXPECT_EQ(response.status, 200) << response.body;
      if (response.status != 200) break;
      pages.push_back(ParseBody(response));
      cursor = NextCursor(pages.back());
    } while (!cursor.empty() && pages.size() < 100);
    return pages;
  }

  std::unique_ptr<LinkedInSandbox> sandbox_;
  CurlClient client_;
};

void ExpectLinkedInError(const CurlResponse& response, int status,
                         const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  const Json body = ParseBody(response);
  EXPECT_EQ(body.value("status", 0), status) << response.body;
  EXPECT_EQ(body.value("code", ""), code) << response.body;
}

TEST_F(LinkedInSandboxTest, BaseUrlIsLoopbackWithTheBoundPort) {
  Start();
  EXPECT_EQ(sandbox_->base_url(),
            absl::StrCat("http://127.0.0.1:", sandbox_->port()));
  EXPECT_GT(sandbox_->port(), 0);
}

TEST_F(LinkedInSandboxTest, MissingTokenIsEmptyAccessToken) {
  Start();
  const CurlResponse response =
      Get(FolloweeQuery(1000, kMembers, 10),
          {"LinkedIn-Version: 202501", "X-Restli-Protocol-Version: 2.0.0"});
  EXPECT_EQ(
      response.body,
      R"({"status":401,"serviceErrorCode":65600,)"
      R"("code":"EMPTY_ACCESS_TOKEN","message":"Empty oauth2 access token"})");
}

TEST_F(LinkedInSandboxTest, WrongTokenIsInvalidAccessToken) {
  Start();
  for (const char* authorization :
       {"Authorization: Bearer other", "Authorization: Basic sandbox-token",
        "Authorization: Bearersandbox-token"}) {
    ExpectLinkedInError(Get(FolloweeQuery(1000, kMembers, 10),
                            {authorization, "LinkedIn-Version: 202501",
                             "X-Restli-Protocol-Version: 2.0.0"}),
                        401, "INVALID_ACCESS_TOKEN");
  }
  ExpectLinkedInError(Get(FolloweeQuery(1000, kMembers, 10),
                          {"Authorization: Bearer ", "LinkedIn-Version: 202501",
                           "X-Restli-Protocol-Version: 2.0.0"}),
                      401, "EMPTY_ACCESS_TOKEN");
}

TEST_F(LinkedInSandboxTest, ChecksVersionAndProtocolHeaders) {
  Start();
  const std::string target = FolloweeQuery(1000, kMembers, 10);
  const std::string auth = "Authorization: Bearer sandbox-token";
  const std::string restli = "X-Restli-Protocol-Version: 2.0.0";
  ExpectLinkedInError(Get(target, {auth, restli}), 400, "VERSION_MISSING");
  ExpectLinkedInError(Get(target, {auth, restli, "LinkedIn-Version: 2025-01"}),
                      400, "INVALID_VERSION");
  ExpectLinkedInError(Get(target, {auth, restli, "LinkedIn-Version: 202410"}),
                      426, "NONEXISTENT_VERSION");
  EXPECT_EQ(Get(target, {auth, restli, "LinkedIn-Version: 202411"}).status,
            200);
  EXPECT_EQ(Get(target, {auth, restli, "LinkedIn-Version: 202506.01"}).status,
            200);
  ExpectLinkedInError(Get(target, {auth, "LinkedIn-Version: 202501"}), 400,
                      "BAD_REQUEST");
  ExpectLinkedInError(Get(target, {auth, "LinkedIn-Version: 202501",
                                   "X-Restli-Protocol-Version: 1.0.0"}),
                      400, "BAD_REQUEST");
}

TEST_F(LinkedInSandboxTest, RejectsBadFinderArguments) {
  Start();
  const std::string base = "/rest/dmaOrganizationalPageFollows?";
  const std::string page = UrlEncode(PageUrn(1000));
  const std::string good =
      absl::StrCat("q=followee&followee=", page, "&edgeType=", kMembers);
  for (const std::string& query : {
           absl::StrCat(good, "&maxPaginationCount=0"),
           absl::StrCat(good, "&maxPaginationCount=1001"),
           absl::StrCat(good, "&maxPaginationCount=abc"),
           absl::StrCat(good, "&maxPaginationCount=-5"),
           absl::StrCat(good, "&maxPaginationCount="),
           good,
           absl::StrCat("q=followee&followee=", page, "&maxPaginationCount=10"),
           absl::StrCat("q=followee&followee=", page,
                        "&edgeType=FRIENDS&maxPaginationCount=10"),
           absl::StrCat("q=followee&edgeType=", kMembers,
                        "&maxPaginationCount=10"),
           absl::StrCat("q=followee&followee=urn%3Ali%3Aorganization%3A1000",
                        "&edgeType=", kMembers, "&maxPaginationCount=10"),
           absl::StrCat("q=followee&followee=urn%3Ali%3AorganizationalPage%3A",
                        "01000&edgeType=", kMembers, "&maxPaginationCount=10"),
           absl::StrCat(good, "&maxPaginationCount=10&maxPaginationCount=10"),
           absl::StrCat(good, "&maxPaginationCount=10&start=0"),
           absl::StrCat(good, "&maxPaginationCount=10&x=%zz"),
           std::string("q=unknown&maxPaginationCount=10"),
           std::string("maxPaginationCount=10"),
           std::string("q=follower&follower=bob&maxPaginationCount=10"),
           std::string("q=follower&maxPaginationCount=10"),
       }) {
    ExpectLinkedInError(Get(base + query), 400, "BAD_REQUEST");
  }
}

TEST_F(LinkedInSandboxTest, UnknownFolloweeAndResourceAreNotFound) {
  Start();
  const CurlResponse unknown_page = Get(FolloweeQuery(42, kMembers, 10));
  ExpectLinkedInError(unknown_page, 404, "NOT_FOUND");
  EXPECT_THAT(unknown_page.body, HasSubstr("urn:li:organizationalPage:42"));
  ExpectLinkedInError(Get("/rest/organizationalPageFollows?q=followee"), 404,
                      "NOT_FOUND");
  ExpectLinkedInError(Get("/v2/elsewhere"), 404, "NOT_FOUND");
  EXPECT_EQ(client_
                .Post(sandbox_->base_url() + FolloweeQuery(1000, kMembers, 10),
                      "{}", GoodHeaders())
                .status,
            405);
}

TEST_F(LinkedInSandboxTest, PaginatesEveryMemberExactlyOnce) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 2345, 7}};
  Start(options);
  const std::vector<Json> pages = AllPages([](const std::string& cursor) {
    return FolloweeQuery(1000, kMembers, 1000, cursor);
  });
  ASSERT_THAT(pages, SizeIs(3));
  std::set<std::string> followers;
  int obfuscated = 0;
  int64_t previous_time = INT64_MAX;
  for (size_t i = 0; i < pages.size(); ++i) {
    const Json& page = pages[i];
    EXPECT_EQ(page["paging"]["start"], 1000 * i);
    EXPECT_EQ(page["paging"]["count"], 1000);
    EXPECT_EQ(page["paging"]["total"], 2345);
    EXPECT_EQ(page["paging"]["links"], Json::array());
    EXPECT_EQ(page["elements"].size(), i < 2 ? 1000u : 345u);
    for (const Json& element : page["elements"]) {
      EXPECT_EQ(element["followee"], "urn:li:organizationalPage:1000");
      EXPECT_EQ(element["edgeType"], kMembers);
      const std::string follower = element["follower"];
      ASSERT_TRUE(absl::StartsWith(follower, "urn:li:person:")) << follower;
      const size_t id_length = follower.size() - 14;
      if (id_length != 10) {
        ++obfuscated;
        EXPECT_GE(id_length, 6u);
        EXPECT_LE(id_length, 8u);
      }
      EXPECT_TRUE(followers.insert(follower).second) << follower;
      const int64_t time = element["lastModifiedAt"];
      EXPECT_LT(time, previous_time);
      previous_time = time;
    }
  }
  EXPECT_EQ(followers.size(), 2345u);
  EXPECT_EQ(obfuscated, 2345 / 4);
  EXPECT_EQ(pages.back()["metadata"], Json::object());
  const std::string cursor = NextCursor(pages[0]);
  EXPECT_THAT(cursor, HasSubstr("+"));
  EXPECT_THAT(cursor, HasSubstr("/"));
  EXPECT_THAT(cursor, HasSubstr("="));
}

TEST_F(LinkedInSandboxTest, PaginatesPageFollowersExactlyOnce) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 10, 250}};
  Start(options);
  const std::vector<Json> pages = AllPages([](const std::string& cursor) {
    return FolloweeQuery(1000, kPages, 100, cursor);
  });
  ASSERT_THAT(pages, SizeIs(3));
  std::set<std::string> followers;
  for (const Json& page : pages) {
    for (const Json& element : page["elements"]) {
      EXPECT_EQ(element["edgeType"], kPages);
      const std::string follower = element["follower"];
      EXPECT_TRUE(absl::StartsWith(follower, "urn:li:organizationalPage:"));
      EXPECT_TRUE(followers.insert(follower).second) << follower;
    }
  }
  EXPECT_EQ(followers.size(), 250u);
}

TEST_F(LinkedInSandboxTest, UnencodedCursorIsRejected) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 2345, 0}};
  Start(options);
  const Json first = ParseBody(Get(FolloweeQuery(1000, kMembers, 1000)));
  const std::string cursor = NextCursor(first);
  ASSERT_FALSE(cursor.empty());
  const CurlResponse raw = Get(absl::StrCat(FolloweeQuery(1000, kMembers, 1000),
                                            "&paginationCursor=", cursor));
  EXPECT_EQ(raw.status, 400);
  EXPECT_EQ(raw.body, R"({"status":400,"code":"BAD_REQUEST",)"
                      R"("message":"Invalid pagination cursor"})");
  EXPECT_EQ(Get(FolloweeQuery(1000, kMembers, 1000, cursor)).status, 200);
}

TEST_F(LinkedInSandboxTest, CursorOfAnotherQueryOrGarbageIsRejected) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 50, 50}, {42, 50, 50}};
  Start(options);
  const std::string cursor =
      NextCursor(ParseBody(Get(FolloweeQuery(1000, kMembers, 10))));
  ASSERT_FALSE(cursor.empty());
  for (const std::string& target :
       {FolloweeQuery(1000, kPages, 10, cursor),
        FolloweeQuery(42, kMembers, 10, cursor),
        FollowerQuery(PageUrn(2001), 10, cursor),
        FolloweeQuery(1000, kMembers, 10, "NV9f"),
        FolloweeQuery(1000, kMembers, 10, cursor.substr(1)),
        FolloweeQuery(1000, kMembers, 10, "%%%"),
        FolloweeQuery(1000, kMembers, 10, std::string(40, 'A'))}) {
    const CurlResponse response = Get(target);
    ExpectLinkedInError(response, 400, "BAD_REQUEST");
    EXPECT_THAT(response.body, HasSubstr("Invalid pagination cursor"));
  }
}

TEST_F(LinkedInSandboxTest, MaskedPagesAreShortButKeepACursor) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 1000, 0}};
  options.masked_every = 2;
  Start(options);
  const std::vector<Json> pages = AllPages([](const std::string& cursor) {
    return FolloweeQuery(1000, kMembers, 100, cursor);
  });
  std::set<std::string> followers;
  for (size_t i = 0; i < pages.size(); ++i) {
    const size_t page_number = i + 1;
    if (page_number % 2 == 0 && i + 1 < pages.size()) {
      EXPECT_EQ(pages[i]["elements"].size(), 50u) << page_number;
      EXPECT_FALSE(NextCursor(pages[i]).empty()) << page_number;
    }
    for (const Json& element : pages[i]["elements"]) {
      EXPECT_TRUE(
          followers.insert(element["follower"].get<std::string>()).second);
    }
  }
  EXPECT_EQ(followers.size(), 1000u);
  EXPECT_EQ(pages.size(), 13u);  // 100, 50, 100, 50, ... 100.
}

TEST_F(LinkedInSandboxTest, FollowerFinderPagesThroughTheProlificFollower) {
  Start();
  const std::vector<Json> pages = AllPages([](const std::string& cursor) {
    return FollowerQuery(PageUrn(2001), 1000, cursor);
  });
  ASSERT_THAT(pages, SizeIs(3));
  std::set<std::string> followees;
  for (const Json& page : pages) {
    EXPECT_EQ(page["paging"]["total"], 2500);
    for (const Json& element : page["elements"]) {
      EXPECT_EQ(element["follower"], PageUrn(2001));
      EXPECT_EQ(element["edgeType"], kPages);
      followees.insert(element["followee"].get<std::string>());
    }
  }
  EXPECT_EQ(followees.size(), 2500u);
}

TEST_F(LinkedInSandboxTest, FollowerFinderFindsTheSeededPagesFollowed) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 20, 5}, {42, 30, 0}};
  Start(options);
  const Json members = ParseBody(Get(FolloweeQuery(1000, kMembers, 20)));
  const Json page_followers = ParseBody(Get(FolloweeQuery(1000, kPages, 5)));
  const std::string consented = members["elements"][0]["follower"];
  const std::string obfuscated = members["elements"][3]["follower"];
  const std::string page_follower = page_followers["elements"][4]["follower"];

  const Json by_member = ParseBody(Get(FollowerQuery(consented, 10)));
  ASSERT_EQ(by_member["elements"].size(), 1u) << by_member.dump();
  EXPECT_EQ(by_member["elements"][0]["followee"], PageUrn(1000));
  EXPECT_EQ(by_member["elements"][0]["edgeType"], kMembers);
  EXPECT_EQ(by_member["elements"][0]["lastModifiedAt"],
            members["elements"][0]["lastModifiedAt"]);
  EXPECT_EQ(by_member["metadata"], Json::object());

  const Json by_page = ParseBody(Get(FollowerQuery(page_follower, 10)));
  ASSERT_EQ(by_page["elements"].size(), 1u) << by_page.dump();
  EXPECT_EQ(by_page["elements"][0]["followee"], PageUrn(1000));
  EXPECT_EQ(by_page["elements"][0]["edgeType"], kPages);

  for (const std::string& nobody :
       {obfuscated, std::string("urn:li:person:AAAAAAAAAA"), PageUrn(7)}) {
    const Json none = ParseBody(Get(FollowerQuery(nobody, 10)));
    EXPECT_EQ(none["elements"], Json::array()) << nobody;
    EXPECT_EQ(none["paging"]["total"], 0) << nobody;
  }
}

TEST_F(LinkedInSandboxTest, ThrottlesRequestsSoonerThanMinInterval) {
  LinkedInSandboxOptions options;
  options.min_interval = absl::Hours(1);
  Start(options);
  ExpectLinkedInError(
      Get(FolloweeQuery(1000, kMembers, 10), {"LinkedIn-Version: 202501"}), 401,
      "EMPTY_ACCESS_TOKEN");
  EXPECT_EQ(Get(FolloweeQuery(1000, kMembers, 10)).status, 200);
  const CurlResponse throttled = Get(FolloweeQuery(1000, kMembers, 10));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(
      throttled.body,
      R"({"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS",)"
      R"("message":"Resource level throttle limit for calls to this )"
      R"(resource is reached."})");
  EXPECT_EQ(Get(FolloweeQuery(1000, kMembers, 10)).status, 429);
  const LinkedInSandboxStats stats = sandbox_->Stats();
  EXPECT_EQ(stats.requests, 4);
  EXPECT_EQ(stats.throttled, 2);
  EXPECT_EQ(stats.by_status.at(401), 1);
  EXPECT_EQ(stats.by_status.at(200), 1);
  EXPECT_EQ(stats.by_status.at(429), 2);
  sandbox_->Reset();
  EXPECT_EQ(Get(FolloweeQuery(1000, kMembers, 10)).status, 200);
}

TEST_F(LinkedInSandboxTest, FaultsAreConsumedInOrder) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 3000, 0}};
  Start(options);
  sandbox_->AddFaults({SandboxFault::Status(503), SandboxFault::Truncate(),
                       SandboxFault::Reset(), SandboxFault::Status(429),
                       SandboxFault::Slow(absl::Milliseconds(50))});
  EXPECT_EQ(sandbox_->Stats().faults_pending, 5);
  const std::string target = FolloweeQuery(1000, kMembers, 1000);

  ExpectLinkedInError(Get(target), 503, "SERVICE_UNAVAILABLE");
  const CurlResponse truncated = Get(target);
  EXPECT_EQ(truncated.code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(truncated.status, 200);
  EXPECT_THAT(truncated.body, HasSubstr("\"elements\":[{"));
  EXPECT_EQ(Get(target).code, CURLE_RECV_ERROR);
  ExpectLinkedInError(Get(target), 429, "TOO_MANY_REQUESTS");
  const absl::Time before_slow = absl::Now();
  const CurlResponse slow = Get(target);
  EXPECT_GE(absl::Now() - before_slow, absl::Milliseconds(50));
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(ParseBody(slow)["elements"].size(), 1000u);
  EXPECT_EQ(Get(target).status, 200);

  const LinkedInSandboxStats stats = sandbox_->Stats();
  EXPECT_EQ(stats.requests, 6);
  EXPECT_EQ(stats.throttled, 0);
  EXPECT_EQ(stats.connection_resets, 1);
  EXPECT_EQ(stats.faults_pending, 0);
  EXPECT_EQ(stats.by_status,
            (std::map<int, int64_t>{{200, 3}, {429, 1}, {503, 1}}));
}

TEST_F(LinkedInSandboxTest, RecordsApiRequests) {
  Start();
  const std::string target = FolloweeQuery(1000, kMembers, 5);
  const absl::Time before = absl::Now();
  ASSERT_EQ(Get(target).status, 200);
  sandbox_->AddFaults({SandboxFault::Reset()});
  // A fresh connection: libcurl silently retries a request once when a
  // reused connection is reset before any response byte.
  CurlClient fresh_client;
  EXPECT_EQ(fresh_client.Get(sandbox_->base_url() + target, GoodHeaders()).code,
            CURLE_RECV_ERROR);
  client_.Get(sandbox_->base_url() + "/_sandbox/stats");  // Not recorded.
  const std::vector<RecordedRequest> requests = sandbox_->Requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, target);
  EXPECT_EQ(requests[0].status, 200);
  EXPECT_GE(requests[0].arrival_time, before);
  EXPECT_EQ(requests[1].status, 0);
  bool saw_version = false;
  for (const HttpHeader& header : requests[0].headers) {
    saw_version |=
        header.name == "LinkedIn-Version" && header.value == "202501";
  }
  EXPECT_TRUE(saw_version);
  sandbox_->ResetStats();
  EXPECT_THAT(sandbox_->Requests(), SizeIs(0));
  EXPECT_EQ(sandbox_->Stats().requests, 0);
}

TEST_F(LinkedInSandboxTest, AdminEndpointsQueueFaultsReportStatsAndReset) {
  Start();
  const std::string admin = sandbox_->base_url() + "/_sandbox/";
  const CurlResponse queued = client_.Post(
      admin + "faults",
      R"([{"kind":"status","status":500},{"kind":"slow","delay_ms":1},)"
      R"({"kind":"truncate"},{"kind":"reset"}])",
      {"Content-Type: application/json"});
  EXPECT_EQ(queued.status, 200);
  EXPECT_EQ(ParseBody(queued)["faults_pending"], 4);
  ExpectLinkedInError(Get(FolloweeQuery(1000, kMembers, 10)), 500,
                      "INTERNAL_SERVER_ERROR");

  const Json stats = ParseBody(client_.Get(admin + "stats"));
  EXPECT_EQ(stats["requests"], 1);
  EXPECT_EQ(stats["throttled"], 0);
  EXPECT_EQ(stats["by_status"], Json({{"500", 1}}));
  EXPECT_EQ(stats["faults_pending"], 3);

  const CurlResponse reset = client_.Post(admin + "reset", "");
  EXPECT_EQ(reset.status, 200);
  EXPECT_EQ(ParseBody(reset)["faults_pending"], 0);
  EXPECT_EQ(ParseBody(reset)["requests"], 0);
  EXPECT_EQ(Get(FolloweeQuery(1000, kMembers, 10)).status, 200);
}

TEST(ParseSandboxFaults, ReadsTheHostileKinds) {
  auto faults = ParseSandboxFaults(
      R"([{"kind":"repeat_cursor"},{"kind":"oversized_page","elements":200000},)"
      R"({"kind":"bad_timestamp","last_modified_at":-9223372036854775808},)"
      R"({"kind":"retry_after","seconds":99999999}])");
  ASSERT_TRUE(faults.ok()) << faults.status();
  ASSERT_EQ(faults->size(), 4u);
  EXPECT_EQ((*faults)[0].kind, SandboxFault::Kind::kRepeatCursor);
  EXPECT_EQ((*faults)[1].kind, SandboxFault::Kind::kOversizedPage);
  EXPECT_EQ((*faults)[1].value, 200000);
  EXPECT_EQ((*faults)[2].kind, SandboxFault::Kind::kBadTimestamp);
  EXPECT_EQ((*faults)[2].value, INT64_MIN);
  EXPECT_EQ((*faults)[3].kind, SandboxFault::Kind::kRetryAfter);
  EXPECT_EQ((*faults)[3].value, 99999999);
}

TEST_F(LinkedInSandboxTest, HostilePageFaultsRewriteTheAnswer) {
  LinkedInSandboxOptions options;
  options.pages = {{1000, 3000, 0}};
  Start(options);
  sandbox_->AddFaults({SandboxFault::OversizedPage(1500), SandboxFault::BadTimestamp(-1),
                       SandboxFault::RetryAfter(7)});
  const std::string target = FolloweeQuery(1000, kMembers, 1000);
  const Json oversized = ParseBody(Get(target));
  EXPECT_EQ(oversized["elements"].size(), 1500u);
  const Json bad_time = ParseBody(Get(target));
  for (const Json& element : bad_time["elements"]) EXPECT_EQ(element["lastModifiedAt"], -1);
  ExpectLinkedInError(Get(target), 429, "TOO_MANY_REQUESTS");
}

TEST_F(LinkedInSandboxTest, AdminRejectsMalformedFaults) {
  Start();
  const std::string url = sandbox_->base_url() + "/_sandbox/faults";
  for (const char* body :
       {"", "{", "{}", "[1]", R"([{"kind":"status"}])",
        R"([{"kind":"status","status":200}])",
        R"([{"kind":"slow","delay_ms":-1}])", R"([{"kind":"explode"}])",
        R"([{"kind":"status","status":"500"}])",
        R"([{"kind":"oversized_page","elements":0}])",
        R"([{"kind":"retry_after","seconds":-1}])", R"([{"kind":"bad_timestamp"}])"}) {
    EXPECT_EQ(client_.Post(url, body).status, 400) << body;
  }
  EXPECT_EQ(sandbox_->Stats().faults_pending, 0);
  EXPECT_EQ(client_.Get(sandbox_->base_url() + "/_sandbox/faults").status, 405);
  EXPECT_EQ(client_.Get(sandbox_->base_url() + "/_sandbox/nope").status, 404);
}

TEST(LinkedInSandboxOptionsTest, RejectsBadOptions) {
  auto start_code = [](LinkedInSandboxOptions options) {
    return LinkedInSandbox::Start(options).status().code();
  };
  LinkedInSandboxOptions options;
  options.oldest_version = "2024-11";
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.access_token = "has space";
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.pages = {{1000, 1, 1}, {1000, 2, 2}};
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.pages = {{1000, -1, 0}};
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.min_interval = -absl::Seconds(1);
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
  options = {};
  options.port = -1;
  EXPECT_EQ(start_code(options), absl::StatusCode::kInvalidArgument);
}

TEST(SeededPagesFlag, ParsesAndRejects) {
  absl::StatusOr<std::vector<SeededPage>> pages =
      ParseSeededPages("1000:25000:1500, 42:12345:0");
  ASSERT_TRUE(pages.ok()) << pages.status();
  ASSERT_THAT(*pages, SizeIs(2));
  EXPECT_EQ((*pages)[1].id, 42);
  EXPECT_EQ((*pages)[1].member_followers, 12345);
  EXPECT_EQ((*pages)[1].page_followers, 0);
  for (const char* bad : {"1000", "1000:1", "a:1:2", "1:2:3:4", "1:2:x"}) {
    EXPECT_EQ(ParseSeededPages(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(LinkedInCursor, RoundTripsAndAlwaysNeedsPercentEncoding) {
  for (int64_t offset : {int64_t{0}, int64_t{1000}, int64_t{99999999}}) {
    const CursorState state{QueryFingerprint("q"), offset, 7};
    const std::string cursor = EncodeCursor(state);
    EXPECT_TRUE(absl::StartsWith(cursor, "+/+/")) << cursor;
    EXPECT_TRUE(absl::EndsWith(cursor, "=")) << cursor;
    const absl::optional<CursorState> decoded = DecodeCursor(cursor);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->query_fingerprint, state.query_fingerprint);
    EXPECT_EQ(decoded->offset, offset);
    EXPECT_EQ(decoded->page_number, 7);
    std::string tampered = cursor;
    tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(DecodeCursor(tampered).has_value());
    std::string spaced = cursor;
    spaced[0] = ' ';
    EXPECT_FALSE(DecodeCursor(spaced).has_value());
  }
}

}  // namespace
}  // namespace sandbox
}  // namespace followgate
