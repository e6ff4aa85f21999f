// The invitation core: batcher + ledger (real SQLite in a temp dir) against
// a scripted ConnectSafely behind the fake HTTP client, on a fake clock.
#include "server/invitations/invitation_batcher.h"

#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/base/redaction.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/server/invitations/invitation_requests.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::Profile;
using ::followgate::testing::Profiles;
using ::followgate::testing::Request;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kCompany = ::followgate::testing::kInvitationCompany;

HttpResponse Json(int status, const nlohmann::json& body, HttpHeaders headers = {}) {
  HttpResponse response;
  response.status_code = status;
  response.body = body.dump();
  response.headers = std::move(headers);
  return response;
}

// What one call produced.
struct RunResult {
  absl::Status status;
  std::map<int, v1::ProfileResult> results;  // By index.
  int messages = 0;
  bool done = false;
  v1::BatchProgress progress;

  std::map<v1::InvitationOutcome, int> Counts() const {
    std::map<v1::InvitationOutcome, int> counts;
    for (const auto& [index, result] : results) ++counts[result.outcome()];
    return counts;
  }
};

class InvitationBatcherTest : public ::testing::Test {
 protected:
  InvitationBatcherTest() : http_(&clock_) {
    clock_.SetTime(absl::FromCivil(absl::CivilSecond(2023, 11, 14, 12, 0, 0),
                                   absl::UTCTimeZone()));
    clock_.EnableAutoAdvance(1);
    db_path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                            ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                            ".db");
    std::remove(db_path_.c_str());
    OpenLedger();
    ConnectSafelyClientOptions options;
    options.base_url = "http://cs";
    options.api_key = "cs-key";
    client_ = std::make_unique<ConnectSafelyClient>(&http_, &clock_, options);
    http_.SetHandler([this](const HttpRequest& request) { return Answer(request); });
  }

  void OpenLedger() {
    ledger_.reset();
    auto ledger = SqliteInvitationLedger::Open(db_path_, &clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
  }

  std::unique_ptr<InvitationBatcher> Batcher(InvitationBatcherOptions options = {}) {
    options.backoff = absl::Seconds(7);
    return std::make_unique<InvitationBatcher>(ledger_.get(), client_.get(), &clock_,
                                               std::move(options));
  }

  RunResult Run(InvitationBatcher& batcher, const v1::SendInvitationsRequest& request,
                absl::Time deadline = absl::InfiniteFuture()) {
    RunResult result;
    CancellationToken never;
    result.status = batcher.Run(request, never, [&](v1::SendInvitationsResponse response) {
      ++result.messages;
      for (const auto& r : response.results()) {
        EXPECT_TRUE(result.results.emplace(r.index(), r).second)
            << "outcome reported twice for index " << r.index();
      }
      result.done = response.done();
      result.progress = response.progress();
      return absl::OkStatus();
    }, deadline);
    return result;
  }

  // The fake ConnectSafely: each request takes the next scripted answer, if
  // any; otherwise it sends every profile it has not seen before.
  absl::StatusOr<HttpResponse> Answer(const HttpRequest& request) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, absl::StrCat("http://cs/linkedin/organizations/", kCompany,
                                        "/follow-invitations"));
    const nlohmann::json body = nlohmann::json::parse(request.body);
    std::vector<std::string> urns = body["profileUrns"].get<std::vector<std::string>>();
    EXPECT_LE(urns.size(), 50u);
    requests_.push_back({clock_.Now(), urns});
    if (!script_.empty()) {
      auto next = std::move(script_.front());
      script_.pop_front();
      if (next) return next(urns);
    }
    nlohmann::json results = nlohmann::json::array();
    for (const std::string& urn : urns) {
      const bool fresh = invited_.insert(urn).second;
      results.push_back({{"profileUrn", urn},
                         {"success", fresh},
                         {"status", fresh ? "SENT" : "ALREADY_INVITED"}});
    }
    return Json(200, {{"success", true}, {"results", results}});
  }

  // Makes the next request answer with `answer` (nullptr: the default).
  using Scripted = std::function<absl::StatusOr<HttpResponse>(const std::vector<std::string>&)>;
  void Script(Scripted answer) { script_.push_back(std::move(answer)); }

  std::vector<size_t> RequestSizes() const {
    std::vector<size_t> sizes;
    for (const auto& r : requests_) sizes.push_back(r.urns.size());
    return sizes;
  }

  struct Sent {
    absl::Time at;
    std::vector<std::string> urns;
  };

  FakeClock clock_;
  FakeHttpClient http_;
  std::string db_path_;
  std::unique_ptr<InvitationLedger> ledger_;
  std::unique_ptr<ConnectSafelyClient> client_;
  std::deque<Scripted> script_;
  std::vector<Sent> requests_;
  std::set<std::string> invited_;
};

TEST_F(InvitationBatcherTest, SendsInChunksOfAtMostFiftyInOrder) {
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 120)));
  ASSERT_THAT(run.status, IsOk());
  EXPECT_THAT(RequestSizes(), ElementsAre(50, 50, 20));
  EXPECT_EQ(requests_[0].urns.front(), Profile(0));
  EXPECT_EQ(requests_[2].urns.back(), Profile(119));
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.results.size(), 120u);
  EXPECT_EQ(run.Counts().at(v1::INVITATION_OUTCOME_SENT), 120);
  EXPECT_EQ(run.progress.upstream_requests(), 3);
  EXPECT_EQ(run.results.at(7).invited_by_request_id(), "b1");
  EXPECT_TRUE(run.results.at(7).has_invite_time());
}

TEST_F(InvitationBatcherTest, RepeatsInTheRequestAreFoldedAndNotSent) {
  std::vector<std::string> urns = Profiles(0, 60);
  urns.push_back(Profile(3));
  urns.push_back(Profile(59));
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", urns));
  ASSERT_THAT(run.status, IsOk());
  EXPECT_THAT(RequestSizes(), ElementsAre(50, 10));
  EXPECT_EQ(run.results.at(60).outcome(), v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(run.results.at(60).reason(), "repeats profile_urns[3]");
  EXPECT_EQ(run.results.at(61).outcome(), v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(run.progress.skipped_duplicate(), 2);
  EXPECT_EQ(run.progress.sent(), 60);
}

TEST_F(InvitationBatcherTest, RepeatingTheRequestIdReplaysWithoutSending) {
  auto batcher = Batcher();
  const RunResult first = Run(*batcher, Request("b1", Profiles(0, 70)));
  ASSERT_THAT(first.status, IsOk());
  const RunResult again = Run(*batcher, Request("b1", Profiles(0, 70)));
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(requests_.size(), 2u);  // Nothing more was sent.
  EXPECT_EQ(again.messages, 1);
  EXPECT_TRUE(again.done);
  ASSERT_EQ(again.results.size(), 70u);
  for (const auto& [index, result] : again.results) {
    EXPECT_EQ(result.SerializeAsString(), first.results.at(index).SerializeAsString())
        << result.DebugString() << " vs " << first.results.at(index).DebugString();
  }
}

TEST_F(InvitationBatcherTest, SameRequestIdWithOtherContentIsAlreadyExists) {
  auto batcher = Batcher();
  ASSERT_THAT(Run(*batcher, Request("b1", Profiles(0, 3))).status, IsOk());
  EXPECT_THAT(Run(*batcher, Request("b1", Profiles(0, 4))).status,
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("\"b1\" already names a batch with a different number of "
                                 "profiles (3)")));
  EXPECT_THAT(Run(*batcher, Request("b1", Profiles(1, 3))).status,
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("profile_urns[0]")));
  v1::SendInvitationsRequest other_company = Request("b1", Profiles(0, 3));
  other_company.set_company_id("1000");
  EXPECT_THAT(Run(*batcher, other_company).status,
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("company_id")));
  EXPECT_EQ(requests_.size(), 1u);
}

TEST_F(InvitationBatcherTest, ProfilesInvitedByAnEarlierBatchAreNotSentAgain) {
  auto batcher = Batcher();
  ASSERT_THAT(Run(*batcher, Request("b1", Profiles(0, 10))).status, IsOk());
  const RunResult second = Run(*batcher, Request("b2", Profiles(5, 10)));
  ASSERT_THAT(second.status, IsOk());
  ASSERT_EQ(requests_.size(), 2u);
  EXPECT_EQ(requests_[1].urns, Profiles(10, 5));
  const v1::ProfileResult& repeat = second.results.at(0);  // Profile(5)
  EXPECT_EQ(repeat.outcome(), v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(repeat.invited_by_request_id(), "b1");
  EXPECT_EQ(repeat.reason(), "invited by batch b1");
}

TEST_F(InvitationBatcherTest, ZeroPaddedCompanyIdIsTheSamePageInTheLedger) {
  auto batcher = Batcher();
  ASSERT_THAT(Run(*batcher, Request("b1", Profiles(0, 10))).status, IsOk());
  v1::SendInvitationsRequest padded = Request("b2", Profiles(0, 10));
  padded.set_company_id(absl::StrCat("000", kCompany));
  const RunResult second = Run(*batcher, padded);
  ASSERT_THAT(second.status, IsOk());
  EXPECT_EQ(requests_.size(), 1u);  // Nobody invited twice through another spelling.
  EXPECT_EQ(second.results.at(0).outcome(), v1::INVITATION_OUTCOME_ALREADY_INVITED);
  v1::GetInvitationRequest get;
  get.set_company_id(absl::StrCat("0", kCompany));
  get.set_profile_urn(Profile(0));
  auto recorded = batcher->GetInvitation(get);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_EQ(recorded->company_id(), kCompany);
  EXPECT_EQ(recorded->request_id(), "b1");
}

TEST_F(InvitationBatcherTest, CompanyIdZeroOrBeyondInt64IsInvalidArgument) {
  auto batcher = Batcher();
  for (const char* id : {"0", "000", "9223372036854775808", "-5", "+5"}) {
    v1::SendInvitationsRequest request = Request("b1", Profiles(0, 1));
    request.set_company_id(id);
    EXPECT_THAT(Run(*batcher, request).status,
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("company_id must be the numeric LinkedIn company id (1 to "
                                   "2^63-1")))
        << id;
  }
  EXPECT_TRUE(requests_.empty());
}

TEST_F(InvitationBatcherTest, PerProfileResultsMapToOutcomes) {
  Script([](const std::vector<std::string>& urns) {
    nlohmann::json results = nlohmann::json::array();
    results.push_back({{"profileUrn", urns[0]}, {"success", true}, {"status", "SENT"}});
    results.push_back({{"profileUrn", urns[1]}, {"success", false},
                       {"status", "ALREADY_INVITED"}});
    results.push_back({{"profileUrn", urns[2]}, {"success", false}, {"status", "FAILED"},
                       {"error", "Not a 1st-degree connection"}});
    // urns[3] is missing from the answer.
    return Json(200, {{"success", true}, {"results", results}});
  });
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 4)));
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.results.at(0).outcome(), v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ(run.results.at(1).outcome(), v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(run.results.at(1).invited_by_request_id(), "");
  EXPECT_EQ(run.results.at(2).outcome(), v1::INVITATION_OUTCOME_FAILED);
  EXPECT_EQ(run.results.at(2).reason(), "FAILED: Not a 1st-degree connection");
  EXPECT_EQ(run.results.at(3).outcome(), v1::INVITATION_OUTCOME_UNKNOWN);
  // A failed profile may be tried again by a later batch; the others not.
  const RunResult later = Run(*batcher, Request("b2", Profiles(0, 4)));
  ASSERT_EQ(requests_.size(), 2u);
  EXPECT_EQ(requests_[1].urns, std::vector<std::string>{Profile(2)});
  EXPECT_EQ(later.results.at(3).outcome(), v1::INVITATION_OUTCOME_UNKNOWN);
}

TEST_F(InvitationBatcherTest, PerProfileReasonsAreRedactedBeforeTheyAreRecordedOrSent) {
  RegisterSecret("per-profile-secret-42");
  Script([](const std::vector<std::string>& urns) {
    nlohmann::json results = nlohmann::json::array();
    results.push_back({{"profileUrn", urns[0]}, {"success", false}, {"status", "FAILED"},
                       {"error", "key per-profile-secret-42 refused (Bearer unheld-xyz)"}});
    return Json(200, {{"success", false}, {"results", results}});
  });
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 1)));
  ASSERT_THAT(run.status, IsOk());
  EXPECT_EQ(run.results.at(0).reason(), "FAILED: key [REDACTED] refused (Bearer [REDACTED])");
  v1::GetInvitationRequest get;
  get.set_company_id(kCompany);
  get.set_profile_urn(Profile(0));
  auto recorded = batcher->GetInvitation(get);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_EQ(recorded->reason(), "FAILED: key [REDACTED] refused (Bearer [REDACTED])");
}

TEST_F(InvitationBatcherTest, LostAnswerLeavesTheChunkUnknownStopsAndContinuesLater) {
  Script(nullptr);  // First chunk answered.
  Script([](const std::vector<std::string>&) {
    return Json(500, {{"error", "Failed to send company follow invitations"}});
  });
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 130)));
  EXPECT_THAT(run.status, StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("50 profiles of that request are UNKNOWN")));
  EXPECT_FALSE(run.done);
  EXPECT_EQ(run.Counts().at(v1::INVITATION_OUTCOME_UNKNOWN), 50);
  EXPECT_EQ(run.results.at(60).reason().find("ConnectSafely answered HTTP 500"), 0u);
  ASSERT_EQ(requests_.size(), 2u);

  // Repeating the request continues with the remaining 30 only.
  const RunResult resumed = Run(*batcher, Request("b1", Profiles(0, 130)));
  ASSERT_THAT(resumed.status, IsOk());
  EXPECT_TRUE(resumed.done);
  ASSERT_EQ(requests_.size(), 3u);
  EXPECT_EQ(requests_[2].urns, Profiles(100, 30));
  EXPECT_EQ(resumed.Counts().at(v1::INVITATION_OUTCOME_UNKNOWN), 50);

  // A new batch does not send UNKNOWN profiles, unless told to.
  const RunResult cautious = Run(*batcher, Request("b2", Profiles(50, 50)));
  EXPECT_EQ(requests_.size(), 3u);
  EXPECT_EQ(cautious.Counts().at(v1::INVITATION_OUTCOME_UNKNOWN), 50);
  EXPECT_THAT(cautious.results.at(0).reason(), HasSubstr("retry_unknown"));
  v1::SendInvitationsRequest retry = Request("b3", Profiles(50, 50));
  retry.set_retry_unknown(true);
  const RunResult retried = Run(*batcher, retry);
  ASSERT_THAT(retried.status, IsOk());
  ASSERT_EQ(requests_.size(), 4u);
  EXPECT_EQ(requests_[3].urns, Profiles(50, 50));
}

TEST_F(InvitationBatcherTest, TimeoutResetAndGarbledBodyAreUnknownToo) {
  for (auto make : std::vector<Scripted>{
           [](const std::vector<std::string>&) -> absl::StatusOr<HttpResponse> {
             return absl::DeadlineExceededError("timed out");
           },
           [](const std::vector<std::string>&) -> absl::StatusOr<HttpResponse> {
             return absl::UnavailableError("connection reset");
           },
           [](const std::vector<std::string>&) -> absl::StatusOr<HttpResponse> {
             HttpResponse truncated;
             truncated.status_code = 200;
             truncated.body = R"({"success":true,"results":[{"profileUrn":)";
             return truncated;
           }}) {
    Script(make);
  }
  auto batcher = Batcher();
  for (int i = 0; i < 3; ++i) {
    const RunResult run = Run(*batcher, Request(absl::StrCat("b", i), Profiles(i * 10, 10)));
    EXPECT_THAT(run.status, StatusIs(absl::StatusCode::kUnavailable)) << i;
    EXPECT_EQ(run.Counts().at(v1::INVITATION_OUTCOME_UNKNOWN), 10) << i;
  }
}

TEST_F(InvitationBatcherTest, ThrottledRequestWaitsWhatRetryAfterSaysThenSends) {
  Script([](const std::vector<std::string>&) {
    return Json(429, {{"error", "Too many requests"}}, {{"Retry-After", "42"}});
  });
  Script([](const std::vector<std::string>&) {
    return Json(429, {{"error", "Too many requests"}}, {});  // No delay named: backoff.
  });
  auto batcher = Batcher();
  const absl::Time t0 = clock_.Now();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 5)));
  ASSERT_THAT(run.status, IsOk());
  ASSERT_EQ(requests_.size(), 3u);
  EXPECT_EQ(requests_[1].at - t0, absl::Seconds(42));
  EXPECT_EQ(requests_[2].at - requests_[1].at, absl::Seconds(7));
  EXPECT_EQ(run.progress.sent(), 5);
  EXPECT_EQ(run.progress.upstream_requests(), 1);  // 429s sent nothing.
}

TEST_F(InvitationBatcherTest, HugeRetryAfterEndsTheCallAtOnceAndTheSameRequestContinues) {
  Script([](const std::vector<std::string>&) {
    return Json(429, {{"error", "Too many requests"}}, {{"Retry-After", "99999999"}});
  });
  auto batcher = Batcher();
  const absl::Time t0 = clock_.Now();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 60)));
  EXPECT_THAT(run.status,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("the retry would wait 27777h46m39s, longer than "
                                 "--max_upstream_wait=10m: not waiting. Nothing was sent for "
                                 "these 50 profiles")));
  EXPECT_EQ(ErrorReason(run.status), "CONNECTSAFELY_THROTTLED");
  EXPECT_EQ(RetryDelay(run.status), absl::Seconds(99999999));
  EXPECT_EQ(clock_.Now(), t0);  // Ended at once.
  EXPECT_EQ(run.progress.sent(), 0);
  ASSERT_EQ(requests_.size(), 1u);
  // Nothing unsent was marked sent: the same request sends all 60, once each.
  const RunResult again = Run(*batcher, Request("b1", Profiles(0, 60)));
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.progress.sent(), 60);
  EXPECT_EQ(again.progress.already_invited(), 0);
}

TEST_F(InvitationBatcherTest, RetryBeyondTheCallsDeadlineEndsTheCallAtOnce) {
  Script([](const std::vector<std::string>&) {
    return Json(429, {{"error", "Too many requests"}}, {{"Retry-After", "42"}});
  });
  auto batcher = Batcher();
  const absl::Time t0 = clock_.Now();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 5)), t0 + absl::Seconds(30));
  EXPECT_THAT(run.status, StatusIs(absl::StatusCode::kResourceExhausted,
                                   HasSubstr("the retry would wait 42s, beyond the call's "
                                             "deadline: not waiting")));
  EXPECT_EQ(RetryDelay(run.status), absl::Seconds(42));
  EXPECT_EQ(clock_.Now(), t0);
  const RunResult again = Run(*batcher, Request("b1", Profiles(0, 5)));
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.progress.sent(), 5);
}

TEST_F(InvitationBatcherTest, RefusedConnectionIsRetriedAndGivesUpWithoutUnknowns) {
  for (int i = 0; i < 3; ++i) {
    Script([](const std::vector<std::string>&) -> absl::StatusOr<HttpResponse> {
      return MarkRequestNeverSent(absl::UnavailableError("connection refused"));
    });
  }
  InvitationBatcherOptions options;
  options.max_retries = 2;
  auto batcher = Batcher(options);
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 5)));
  EXPECT_THAT(run.status, StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("gave up after 3 attempts; nothing was sent")));
  EXPECT_TRUE(run.results.empty());
  // Nothing was sent, so repeating the request sends all five.
  const RunResult again = Run(*batcher, Request("b1", Profiles(0, 5)));
  ASSERT_THAT(again.status, IsOk());
  EXPECT_EQ(again.progress.sent(), 5);
}

TEST_F(InvitationBatcherTest, RejectedKeyOrAdminStopsTheBatch) {
  Script(nullptr);
  Script([](const std::vector<std::string>&) {
    return Json(403, {{"error", "Request failed with status code 403"}});
  });
  auto batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 200)));
  EXPECT_THAT(run.status, StatusIs(absl::StatusCode::kPermissionDenied,
                                   HasSubstr("not a Super Admin")));
  EXPECT_EQ(requests_.size(), 2u);  // Nothing after the 403.
  EXPECT_EQ(run.progress.sent(), 50);
  Script([](const std::vector<std::string>&) {
    return Json(401, {{"error", "Unauthorized - Invalid credentials"}});
  });
  EXPECT_THAT(Run(*batcher, Request("b1", Profiles(0, 200))).status,
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("Invalid credentials")));
  EXPECT_EQ(requests_.size(), 3u);
}

TEST_F(InvitationBatcherTest, MonthlyCreditsSkipTheRestAndRefuseAnEmptyBudget) {
  InvitationBatcherOptions options;
  options.monthly_credits = 1000;
  options.company_credits[kCompany] = 60;
  auto batcher = Batcher(options);
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 100)));
  ASSERT_THAT(run.status, IsOk());
  EXPECT_THAT(RequestSizes(), ElementsAre(50, 10));
  EXPECT_EQ(run.progress.sent(), 60);
  EXPECT_EQ(run.progress.skipped_no_credit(), 40);
  EXPECT_THAT(run.results.at(99).reason(), HasSubstr("2023-12-01T00:00:00Z"));

  EXPECT_THAT(Run(*batcher, Request("b2", Profiles(100, 5))).status,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("renew at 2023-12-01T00:00:00Z")));
  EXPECT_EQ(requests_.size(), 2u);

  clock_.SetTime(absl::FromCivil(absl::CivilSecond(2023, 12, 1, 0, 0, 1), absl::UTCTimeZone()));
  EXPECT_THAT(Run(*batcher, Request("b2", Profiles(100, 5))).status, IsOk());
  EXPECT_EQ(requests_.size(), 3u);
}

TEST_F(InvitationBatcherTest, ChunksInFlightAtACrashBecomeUnknownAndAreNeverResent) {
  auto batcher = Batcher();
  ASSERT_THAT(ledger_->StartBatch({"b1", kCompany, "", Profiles(0, 80), false}), IsOk());
  auto claim = ledger_->ClaimChunk("b1", 50, false, std::nullopt);
  ASSERT_TRUE(claim.ok() && claim->chunk.has_value());
  batcher.reset();
  OpenLedger();  // As after a restart: the claimed chunk was in flight.
  batcher = Batcher();
  const RunResult run = Run(*batcher, Request("b1", Profiles(0, 80)));
  ASSERT_THAT(run.status, IsOk());
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].urns, Profiles(50, 30));
  EXPECT_EQ(run.Counts().at(v1::INVITATION_OUTCOME_UNKNOWN), 50);
  EXPECT_THAT(run.results.at(0).reason(), HasSubstr("followgate stopped"));
  auto record = batcher->GetInvitation([] {
    v1::GetInvitationRequest r;
    r.set_company_id(kCompany);
    r.set_profile_urn(Profile(0));
    return r;
  }());
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->outcome(), v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(record->request_id(), "b1");
}

TEST_F(InvitationBatcherTest, GetInvitationReportsTheLatestOutcome) {
  auto batcher = Batcher();
  ASSERT_THAT(Run(*batcher, Request("b1", Profiles(0, 2))).status, IsOk());
  v1::GetInvitationRequest lookup;
  lookup.set_company_id(kCompany);
  lookup.set_profile_urn(Profile(1));
  auto record = batcher->GetInvitation(lookup);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->outcome(), v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ(record->request_id(), "b1");
  EXPECT_EQ(record->invite_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  lookup.set_profile_urn(Profile(9));
  EXPECT_THAT(batcher->GetInvitation(lookup), StatusIs(absl::StatusCode::kNotFound));
  lookup.set_profile_urn("urn:li:person:x");
  EXPECT_THAT(batcher->GetInvitation(lookup),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different identities")));
}

TEST_F(InvitationBatcherTest, MalformedRequestsAreRejectedBeforeAnythingIsRecorded) {
  InvitationBatcherOptions options;
  options.max_batch_profiles = 100;
  auto batcher = Batcher(options);
  v1::SendInvitationsRequest person = Request("b1", {Profile(0), "urn:li:person:AbCdEf"});
  EXPECT_THAT(Run(*batcher, person).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("profile_urns[1] is \"urn:li:person:AbCdEf\", a member id "
                                 "from the follows API")));
  EXPECT_THAT(Run(*batcher, Request("b1", Profiles(0, 101))).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 100")));
  EXPECT_THAT(Run(*batcher, Request("b1", {})).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("profile_urns")));
  v1::SendInvitationsRequest bad_company = Request("b1", Profiles(0, 1));
  bad_company.set_company_id("urn:li:organization:1");
  EXPECT_THAT(Run(*batcher, bad_company).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("company_id must be")));
  EXPECT_THAT(Run(*batcher, Request("bad id!", Profiles(0, 1))).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
  EXPECT_FALSE(ledger_->BatchExists("b1"));
  EXPECT_TRUE(requests_.empty());
}

TEST_F(InvitationBatcherTest, MissingRequestIdGetsAGeneratedOne) {
  auto batcher = Batcher();
  std::string request_id;
  CancellationToken never;
  ASSERT_THAT(batcher->Run(Request("", Profiles(0, 1)), never,
                           [&](v1::SendInvitationsResponse response) {
                             request_id = response.request_id();
                             return absl::OkStatus();
                           }),
              IsOk());
  EXPECT_THAT(request_id, ::testing::MatchesRegex(
                              "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_TRUE(ledger_->BatchExists(request_id));
}

}  // namespace
}  // namespace followgate
