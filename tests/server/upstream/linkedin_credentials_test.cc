#include "server/upstream/linkedin_credentials.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTwo[] = R"({"credentials": [
  {"name": "acme", "token_file": "/run/acme", "pages": ["1000", "02000"]},
  {"name": "globex", "token_env": "GLOBEX_TOKEN", "pages": ["*"], "people": true,
   "budget": "app-1"},
  {"name": "initech", "token_file": "/run/initech", "pages": [3000], "budget": "app-1"}]})";

FollowsQuery Followee(const std::string& id) {
  FollowsQuery query;
  query.urn = "urn:li:organizationalPage:" + id;
  query.edge_type = v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  return query;
}

FollowsQuery Follower(const std::string& urn) {
  FollowsQuery query;
  query.finder = FollowsQuery::Finder::kFollower;
  query.urn = urn;
  return query;
}

TEST(ParseLinkedInCredentials, ReadsNamesTokensPagesPeopleAndBudgets) {
  auto credentials = ParseLinkedInCredentials(kTwo);
  ASSERT_THAT(credentials.status(), IsOk());
  ASSERT_EQ(credentials->size(), 3u);
  const LinkedInCredentialConfig& acme = (*credentials)[0];
  EXPECT_EQ(acme.name, "acme");
  EXPECT_EQ(acme.token_file, "/run/acme");
  EXPECT_THAT(acme.pages, ElementsAre("1000", "2000"));  // Canonical ids.
  EXPECT_FALSE(acme.people);
  EXPECT_EQ(acme.budget, "acme");  // Its own by default.
  EXPECT_EQ((*credentials)[1].token_env, "GLOBEX_TOKEN");
  EXPECT_TRUE((*credentials)[1].people);
  EXPECT_EQ((*credentials)[1].budget, "app-1");
  EXPECT_THAT((*credentials)[2].pages, ElementsAre("3000"));
  EXPECT_EQ((*credentials)[2].budget, "app-1");  // Shared with globex.
}

TEST(ParseLinkedInCredentials, ReadsTheOAuthApplicationAndRefreshToken) {
  auto credentials = ParseLinkedInCredentials(R"({"credentials": [
    {"name": "acme", "token_file": "/run/acme", "pages": ["1000"], "client_id": "86abc",
     "client_secret_file": "/run/secret", "refresh_token_file": "/run/refresh"}]})");
  ASSERT_THAT(credentials.status(), IsOk());
  EXPECT_EQ((*credentials)[0].client_id, "86abc");
  EXPECT_EQ((*credentials)[0].client_secret_file, "/run/secret");
  EXPECT_EQ((*credentials)[0].refresh_token_file, "/run/refresh");
}

TEST(ParseLinkedInCredentials, RefusesEachBrokenRuleNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "is not a JSON object"},
      {R"({"credentials": []})", "credentials must be a non-empty list"},
      {R"({"credential": []})", "is not a key of the file"},
      {R"({"credentials": [{"name": "A", "token_file": "f", "pages": ["1"]}]})",
       "credentials[0].name must be 1 to 40"},
      {R"({"credentials": [{"name": "a", "pages": ["1"]}]})",
       "exactly one of token_file and token_env"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "token_env": "E", "pages": ["1"]}]})",
       "exactly one of token_file and token_env"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": []}]})",
       "credentials[0] (\"a\").pages must be a non-empty list"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["0"]}]})",
       "not a page id"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["x1"]}]})",
       "not a page id"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "tokn": 1}]})",
       "is not a credential key"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "people": "yes"}]})",
       "people must be true or false"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"]},
                           {"name": "a", "token_file": "g", "pages": ["2"]}]})",
       "credentials[1].name \"a\" is given twice"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"]},
                           {"name": "b", "token_file": "g", "pages": ["01"]}]})",
       "page 1 is served by \"a\" already"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["*"]},
                           {"name": "b", "token_file": "g", "pages": ["*"]}]})",
       "\"*\" is served by \"a\" already"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "people": true},
                           {"name": "b", "token_file": "g", "pages": ["2"], "people": true}]})",
       "people is true for \"a\" already"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "budget": "B!"}]})",
       "budget must be 1 to 40"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "client_id": "c"}]})",
       "needs client_id and a client secret together"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"],
                            "client_secret_env": "S"}]})",
       "needs client_id and a client secret together"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"],
                            "refresh_token_file": "r"}]})",
       "needs client_id and a client secret for its refresh_token_file"},
      {R"({"credentials": [{"name": "a", "token_file": "f", "pages": ["1"], "client_id": "c",
                            "client_secret_file": "s", "client_secret_env": "S"}]})",
       "at most one of client_secret_file and client_secret_env"},
  };
  for (const auto& [json, rule] : cases) {
    EXPECT_THAT(ParseLinkedInCredentials(json).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(HasSubstr("--linkedin_credentials_file"),
                                          HasSubstr(rule))))
        << json;
  }
}

TEST(CredentialRouter, RoutesFolloweesAndPageFollowersByPageAndPeopleToThePeopleCredential) {
  auto credentials = ParseLinkedInCredentials(kTwo);
  ASSERT_THAT(credentials.status(), IsOk());
  const CredentialRouter router(*credentials);
  EXPECT_EQ(router.Route(Followee("1000")).value(), 0);
  EXPECT_EQ(router.Route(Followee("2000")).value(), 0);
  EXPECT_EQ(router.Route(Followee("3000")).value(), 2);
  EXPECT_EQ(router.Route(Followee("4000")).value(), 1);  // "*".
  EXPECT_EQ(router.Route(Follower("urn:li:organizationalPage:3000")).value(), 2);
  EXPECT_EQ(router.Route(Follower("urn:li:person:abc")).value(), 1);
}

TEST(CredentialRouter, QueryNoCredentialServesIsAFailedPreconditionNamingThePage) {
  auto credentials = ParseLinkedInCredentials(
      R"({"credentials": [{"name": "acme", "token_file": "f", "pages": ["1000"]}]})");
  ASSERT_THAT(credentials.status(), IsOk());
  const CredentialRouter router(*credentials);
  const absl::Status unrouted = router.Route(Followee("42")).status();
  EXPECT_THAT(unrouted, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 HasSubstr("no LinkedIn credential serves page 42")));
  EXPECT_EQ(ErrorReason(unrouted).value_or(""), "LINKEDIN_NO_CREDENTIAL");
  EXPECT_THAT(router.Route(Follower("urn:li:person:abc")).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("person followers")));
}

}  // namespace
}  // namespace followgate
