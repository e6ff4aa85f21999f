// Invitations on a fleet: replicas (each a batcher on its own
// PgInvitationLedger, owners r1 and r2) sharing one real PostgreSQL, sending
// through the real ConnectSafely client and libcurl to the sandbox's
// ConnectSafely emulation on loopback.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/base/error_details.h"
#include "server/invitations/invitation_batcher.h"
#include "server/invitations/pg_invitation_ledger.h"
#include "server/sandbox/connectsafely_api.h"
#include "server/sandbox/http_server.h"
#include "server/base/status_macros.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_clock.h"
#include "server/upstream/connectsafely_client.h"
#include "server/upstream/curl_http_client.h"
#include "tests/testing/postgres_suite.h"
#include "tests/server/invitations/invitation_requests.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::Profile;
using ::followgate::testing::Profiles;
using ::followgate::testing::Request;
using ::followgate::testing::IsOkAndHolds;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr const char* kCompany = ::followgate::testing::kInvitationCompany;
constexpr int64_t kCompanyId = 105672170;

BatchSpec Spec(const std::string& request_id, const std::vector<std::string>& urns) {
  BatchSpec spec;
  spec.request_id = request_id;
  spec.company_id = kCompany;
  spec.profile_urns = urns;
  return spec;
}

// What one call emitted.
struct CallResult {
  absl::Status status;
  std::map<int, v1::ProfileResult> results;  // By index.
  std::map<int, int> emissions;              // Times each index was emitted.
  bool done = false;

  int EmittedMoreThanOnce() const {
    int n = 0;
    for (const auto& [index, times] : emissions) n += times > 1;
    return n;
  }
};

// One replica: its ledger and its batcher.
struct Replica {
  std::unique_ptr<PgInvitationLedger> ledger;
  std::unique_ptr<InvitationBatcher> batcher;
};

class FleetInvitationTest : public testing::PostgresSuiteTest {
 protected:
  void SetUp() override {
    PostgresSuiteTest::SetUp();
    absl::StatusOr<std::unique_ptr<sandbox::ConnectSafelyApi>> api =
        sandbox::ConnectSafelyApi::Create({});
    ASSERT_THAT(api, IsOk());
    api_ = *std::move(api);
    absl::StatusOr<std::unique_ptr<sandbox::HttpServer>> http = sandbox::HttpServer::Start(
        {}, [this](const sandbox::HttpRequest& request) {
          std::function<void()> hook;
          {
            absl::MutexLock lock(&hook_mu_);
            hook = before_request_;
          }
          if (hook) hook();
          return api_->Handle(request);
        });
    ASSERT_THAT(http, IsOk());
    http_server_ = *std::move(http);
    ConnectSafelyClientOptions options;
    options.base_url = absl::StrCat("http://127.0.0.1:", http_server_->port());
    options.api_key = "sandbox-api-key";
    options.request_timeout = absl::Seconds(20);
    client_ = std::make_unique<ConnectSafelyClient>(&curl_, Clock::Real(), options);
    absl::StatusOr<std::string> url = NewDatabase();
    ASSERT_THAT(url, IsOk());
    url_ = *url;
  }

  void TearDown() override {
    http_server_->Stop();
    PostgresSuiteTest::TearDown();
  }

  static absl::StatusOr<std::string> NewDatabase() {
    FG_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Connect(server_->url()));
    static int databases = 0;
    const std::string name = absl::StrCat("fleet_", ++databases);
    FG_RETURN_IF_ERROR(db->Exec(absl::StrCat("CREATE DATABASE ", name)));
    return absl::StrCat("postgresql://postgres@127.0.0.1:", server_->port(), "/", name);
  }

  PgInvitationLedgerOptions LedgerOptions(const std::string& owner, absl::Duration lease) {
    PgInvitationLedgerOptions options;
    options.url = url_;
    options.owner = owner;
    options.lease = lease;
    return options;
  }

  Replica MakeReplica(const PgInvitationLedgerOptions& options, Clock* batcher_clock,
                      InvitationBatcherOptions batcher_options = {}) {
    Replica replica;
    absl::StatusOr<std::unique_ptr<PgInvitationLedger>> ledger =
        PgInvitationLedger::Open(options, Clock::Real());
    EXPECT_THAT(ledger, IsOk());
    if (!ledger.ok()) return replica;
    replica.ledger = *std::move(ledger);
    batcher_options.backoff = absl::Milliseconds(10);
    replica.batcher = std::make_unique<InvitationBatcher>(replica.ledger.get(), client_.get(),
                                                          batcher_clock, batcher_options);
    return replica;
  }

  // Runs the request on `replica`; `on_emit` sees each message first.
  CallResult Call(Replica& replica, const v1::SendInvitationsRequest& request,
                  const std::function<void(const v1::SendInvitationsResponse&)>& on_emit = {},
                  absl::Duration timeout = absl::Seconds(60)) {
    CallResult out;
    CancellationToken cancel;
    out.status = replica.batcher->Run(
        request, cancel,
        [&](v1::SendInvitationsResponse response) {
          if (on_emit) on_emit(response);
          for (const v1::ProfileResult& r : response.results()) {
            out.results[r.index()] = r;
            ++out.emissions[r.index()];
          }
          out.done = out.done || response.done();
          return absl::OkStatus();
        },
        absl::Now() + timeout);
    return out;
  }

  void SetBeforeRequest(std::function<void()> hook) {
    absl::MutexLock lock(&hook_mu_);
    before_request_ = std::move(hook);
  }

  // Every profile of `urns` arrived at ConnectSafely exactly once.
  void ExpectEachReceivedOnce(const std::vector<std::string>& urns) {
    for (const std::string& urn : urns) {
      EXPECT_EQ(api_->ReceiveCount(kCompanyId, urn), 1) << urn;
    }
  }

  std::unique_ptr<sandbox::ConnectSafelyApi> api_;
  std::unique_ptr<sandbox::HttpServer> http_server_;
  CurlHttpClient curl_;
  std::unique_ptr<ConnectSafelyClient> client_;
  std::string url_;
  absl::Mutex hook_mu_;
  std::function<void()> before_request_ ABSL_GUARDED_BY(hook_mu_);
};

TEST_F(FleetInvitationTest, SameRequestIdOnTwoReplicasAtOnceSendsEachProfileOnceAndBothSeeEveryOutcome) {
  const std::vector<std::string> urns = Profiles(0, 120);  // Three chunks.
  const v1::SendInvitationsRequest request = Request("fleet-same", urns);
  InvitationBatcherOptions options;
  options.in_flight_poll_interval = absl::Seconds(1);
  // r2 polls on a clock of its own, so the test knows when it waits.
  FakeClock r2_poll_clock;
  Replica r1 = MakeReplica(LedgerOptions("r1", absl::Minutes(5)), Clock::Real(), options);
  Replica r2 = MakeReplica(LedgerOptions("r2", absl::Minutes(5)), &r2_poll_clock, options);
  ASSERT_NE(r1.batcher, nullptr);
  ASSERT_NE(r2.batcher, nullptr);

  // r1's first request is held at ConnectSafely until r2 has claimed and
  // sent everything else and waits for r1's chunk (or ended).
  absl::Notification r1_sending, release;
  std::atomic<bool> first{true};
  SetBeforeRequest([&] {
    if (!first.exchange(false)) return;
    r1_sending.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  });

  CallResult r1_result, r2_result;
  std::atomic<bool> r2_done{false};
  std::thread r1_call([&] { r1_result = Call(r1, request); });
  ASSERT_TRUE(r1_sending.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::thread r2_call([&] {
    r2_result = Call(r2, request);
    r2_done = true;
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!r2_done && r2_poll_clock.waiters() < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  release.Notify();
  r1_call.join();
  // r1 is done: r2's next look finds every outcome.
  if (!r2_done) r2_poll_clock.Advance(options.in_flight_poll_interval);
  r2_call.join();
  SetBeforeRequest({});

  for (const CallResult* result : {&r1_result, &r2_result}) {
    EXPECT_THAT(result->status, IsOk());
    EXPECT_TRUE(result->done);
    EXPECT_EQ(result->results.size(), urns.size());
    EXPECT_EQ(result->EmittedMoreThanOnce(), 0);
    for (const auto& [index, r] : result->results) {
      EXPECT_EQ(r.outcome(), v1::INVITATION_OUTCOME_SENT) << index;
    }
  }
  ExpectEachReceivedOnce(urns);
  EXPECT_EQ(api_->Stats().duplicate_receipts, 0);
}

TEST_F(FleetInvitationTest, ReplicaDyingMidBatchLeavesItsInFlightProfilesUnknownAndTheOtherSendsTheRest) {
  const std::vector<std::string> urns = Profiles(200, 120);
  const absl::Duration lease = absl::Seconds(1);
  {
    // r1 starts the batch, claims its first chunk and dies before sending.
    absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r1 =
        PgInvitationLedger::Open(LedgerOptions("r1", lease), Clock::Real());
    ASSERT_THAT(r1, IsOk());
    ASSERT_THAT((*r1)->StartBatch(Spec("fleet-dies", urns)), IsOk());
    absl::StatusOr<Claim> claim = (*r1)->ClaimChunk("fleet-dies", 50, false, std::nullopt);
    ASSERT_THAT(claim, IsOk());
    ASSERT_TRUE(claim->chunk.has_value());
  }
  InvitationBatcherOptions options;
  options.in_flight_poll_interval = absl::Milliseconds(100);
  Replica r2 = MakeReplica(LedgerOptions("r2", absl::Minutes(5)), Clock::Real(), options);
  ASSERT_NE(r2.batcher, nullptr);

  CallResult result = Call(r2, Request("fleet-dies", urns));

  EXPECT_THAT(result.status, IsOk());
  EXPECT_TRUE(result.done);
  EXPECT_EQ(result.EmittedMoreThanOnce(), 0);
  ASSERT_EQ(result.results.size(), urns.size());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(result.results[i].outcome(), v1::INVITATION_OUTCOME_UNKNOWN) << i;
    EXPECT_EQ(result.results[i].reason(), kStoppedInFlightReason) << i;
    EXPECT_EQ(api_->ReceiveCount(kCompanyId, urns[i]), 0) << i;
  }
  for (int i = 50; i < 120; ++i) {
    EXPECT_EQ(result.results[i].outcome(), v1::INVITATION_OUTCOME_SENT) << i;
  }
  ExpectEachReceivedOnce(std::vector<std::string>(urns.begin() + 50, urns.end()));
}

// Passes every call on; runs `hook` once, just before the `nth`
// PendingProfiles call is passed on.
class HookedLedger final : public InvitationLedger {
 public:
  HookedLedger(InvitationLedger* inner, int nth, std::function<void()> hook)
      : inner_(inner), nth_(nth), hook_(std::move(hook)) {}
  bool BatchExists(const std::string& id) override { return inner_->BatchExists(id); }
  absl::Status StartBatch(const BatchSpec& spec) override { return inner_->StartBatch(spec); }
  absl::StatusOr<std::vector<DecidedProfile>> DecidedProfiles(const std::string& id) override {
    return inner_->DecidedProfiles(id);
  }
  absl::StatusOr<Claim> ClaimChunk(const std::string& id, int max_profiles, bool retry_unknown,
                                   const std::optional<CreditBudget>& budget) override {
    return inner_->ClaimChunk(id, max_profiles, retry_unknown, budget);
  }
  absl::Status CompleteChunk(int64_t chunk, const std::vector<DecidedProfile>& o) override {
    return inner_->CompleteChunk(chunk, o);
  }
  absl::Status MarkChunkUnknown(int64_t chunk, const std::string& reason) override {
    return inner_->MarkChunkUnknown(chunk, reason);
  }
  absl::Status ReleaseChunk(int64_t chunk) override { return inner_->ReleaseChunk(chunk); }
  absl::StatusOr<int64_t> RecoverExpiredChunks() override {
    return inner_->RecoverExpiredChunks();
  }
  absl::StatusOr<int> UpstreamRequests(const std::string& id) override {
    return inner_->UpstreamRequests(id);
  }
  absl::StatusOr<int> PendingProfiles(const std::string& id) override {
    if (++calls_ == nth_) hook_();
    return inner_->PendingProfiles(id);
  }
  absl::StatusOr<int64_t> CreditsUsed(const std::string& company, absl::Time start,
                                      absl::Time end) override {
    return inner_->CreditsUsed(company, start, end);
  }
  absl::StatusOr<InvitationRecord> GetInvitation(const std::string& company,
                                                 const std::string& urn) override {
    return inner_->GetInvitation(company, urn);
  }
  absl::StatusOr<std::string> LedgerId() override { return inner_->LedgerId(); }
  absl::Status SetLedgerId(const std::string& id) override { return inner_->SetLedgerId(id); }
  absl::StatusOr<int64_t> BatchCount() override { return inner_->BatchCount(); }

 private:
  InvitationLedger* inner_;
  const int nth_;
  std::function<void()> hook_;
  std::atomic<int> calls_{0};
};

TEST_F(FleetInvitationTest, ChunkDecidedElsewhereJustBeforeTheLastCountIsStillEmitted) {
  const std::vector<std::string> urns = Profiles(300, 100);
  // r1 started the batch and holds its first chunk in flight.
  absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r1 =
      PgInvitationLedger::Open(LedgerOptions("r1", absl::Minutes(5)), Clock::Real());
  ASSERT_THAT(r1, IsOk());
  ASSERT_THAT((*r1)->StartBatch(Spec("decided-late", urns)), IsOk());
  absl::StatusOr<Claim> claim = (*r1)->ClaimChunk("decided-late", 50, false, std::nullopt);
  ASSERT_THAT(claim, IsOk());
  ASSERT_TRUE(claim->chunk.has_value());
  // r2 sends the other 50; r1's answer is recorded just as r2 counts what
  // is left (its second count: the first is at the start).
  Replica r2 = MakeReplica(LedgerOptions("r2", absl::Minutes(5)), Clock::Real());
  ASSERT_NE(r2.ledger, nullptr);
  HookedLedger hooked(r2.ledger.get(), 2, [&] {
    std::vector<DecidedProfile> sent;
    for (const auto& [index, urn] : claim->chunk->profiles) {
      sent.push_back({index, urn, v1::INVITATION_OUTCOME_SENT, "", claim->chunk->claimed_at,
                      "decided-late"});
    }
    EXPECT_THAT((*r1)->CompleteChunk(claim->chunk->id, sent), IsOk());
  });
  InvitationBatcherOptions options;
  options.backoff = absl::Milliseconds(10);
  r2.batcher = std::make_unique<InvitationBatcher>(&hooked, client_.get(), Clock::Real(), options);

  CallResult result = Call(r2, Request("decided-late", urns));

  EXPECT_THAT(result.status, IsOk());
  EXPECT_TRUE(result.done);
  // Every profile has its outcome, r1's chunk included.
  ASSERT_EQ(result.results.size(), urns.size());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(result.results[i].outcome(), v1::INVITATION_OUTCOME_SENT) << i;
  }
}

TEST_F(FleetInvitationTest, WaitingForAnotherReplicasProfilesEndsAtTheCallsDeadline) {
  const std::vector<std::string> urns = Profiles(300, 60);
  // r1 is alive and holds the first chunk in flight for the whole test.
  absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r1 =
      PgInvitationLedger::Open(LedgerOptions("r1", absl::Minutes(5)), Clock::Real());
  ASSERT_THAT(r1, IsOk());
  ASSERT_THAT((*r1)->StartBatch(Spec("fleet-deadline", urns)), IsOk());
  ASSERT_THAT((*r1)->ClaimChunk("fleet-deadline", 50, false, std::nullopt), IsOk());

  FakeClock r2_clock;
  r2_clock.EnableAutoAdvance(1);  // Each poll's wait passes at once.
  InvitationBatcherOptions options;
  options.in_flight_poll_interval = absl::Seconds(1);
  Replica r2 = MakeReplica(LedgerOptions("r2", absl::Minutes(5)), &r2_clock, options);
  ASSERT_NE(r2.batcher, nullptr);
  CancellationToken cancel;
  int emitted = 0;
  bool done = false;
  absl::Status status = r2.batcher->Run(
      Request("fleet-deadline", urns), cancel,
      [&](v1::SendInvitationsResponse response) {
        emitted += response.results_size();
        done = done || response.done();
        return absl::OkStatus();
      },
      r2_clock.Now() + absl::Seconds(5));

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded,
                               HasSubstr("50 profiles of batch fleet-deadline are still in "
                                         "flight")));
  EXPECT_THAT(RetryDelay(status), Optional(absl::Seconds(1)));
  EXPECT_EQ(emitted, 10);
  EXPECT_FALSE(done);
  ExpectEachReceivedOnce(std::vector<std::string>(urns.begin() + 50, urns.end()));
  EXPECT_EQ(api_->ReceiveCount(kCompanyId, urns[0]), 0);
}

TEST(PgInvitationLedgerOptionsTest, NegativeMaintenanceIntervalIsInvalidArgument) {
  PgInvitationLedgerOptions options;
  options.url = "postgresql://127.0.0.1:1/none";
  options.owner = "r1";
  options.maintenance_interval = absl::Seconds(-1);
  EXPECT_THAT(PgInvitationLedger::Open(options, Clock::Real()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("maintenance_interval")));
}

TEST_F(FleetInvitationTest, MaintenanceTurnsADeadReplicasChunksUnknownOnceItsLeaseExpired) {
  const std::vector<std::string> urns = Profiles(400, 10);
  PgInvitationLedgerOptions r2_options = LedgerOptions("r2", absl::Minutes(5));
  r2_options.maintenance_interval = absl::Milliseconds(50);
  absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r2 =
      PgInvitationLedger::Open(r2_options, Clock::Real());
  ASSERT_THAT(r2, IsOk());
  {
    absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r1 =
        PgInvitationLedger::Open(LedgerOptions("r1", absl::Milliseconds(300)), Clock::Real());
    ASSERT_THAT(r1, IsOk());
    ASSERT_THAT((*r1)->StartBatch(Spec("fleet-maintained", urns)), IsOk());
    ASSERT_THAT((*r1)->ClaimChunk("fleet-maintained", 50, false, std::nullopt), IsOk());
  }
  ASSERT_THAT((*r2)->PendingProfiles("fleet-maintained"), IsOkAndHolds(10));

  // Nobody calls r2; only its maintenance thread can recover r1's chunk.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  absl::StatusOr<int> pending = 10;
  while (absl::Now() < give_up) {
    pending = (*r2)->PendingProfiles("fleet-maintained");
    if (!pending.ok() || *pending == 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(pending, IsOkAndHolds(0));
  absl::StatusOr<InvitationRecord> record = (*r2)->GetInvitation(kCompany, urns[0]);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(record->reason, kStoppedInFlightReason);
}

TEST_F(FleetInvitationTest, CreditsAreCountedForTheFleet) {
  Replica r1 = MakeReplica(LedgerOptions("r1", absl::Minutes(5)), Clock::Real());
  ASSERT_NE(r1.batcher, nullptr);
  // r1 sends two; r2 has three in flight.
  CallResult sent = Call(r1, Request("credits-r1", Profiles(500, 2)));
  ASSERT_THAT(sent.status, IsOk());
  absl::StatusOr<std::unique_ptr<PgInvitationLedger>> r2_ledger =
      PgInvitationLedger::Open(LedgerOptions("r2", absl::Minutes(5)), Clock::Real());
  ASSERT_THAT(r2_ledger, IsOk());
  ASSERT_THAT((*r2_ledger)->StartBatch(Spec("credits-r2", Profiles(510, 3))), IsOk());
  ASSERT_THAT((*r2_ledger)->ClaimChunk("credits-r2", 50, false, std::nullopt), IsOk());

  const absl::Time now = absl::Now();
  const absl::Time start = now - absl::Hours(1), end = now + absl::Hours(1);
  EXPECT_THAT(r1.ledger->CreditsUsed(kCompany, start, end), IsOkAndHolds(int64_t{5}));
  EXPECT_THAT((*r2_ledger)->CreditsUsed(kCompany, start, end), IsOkAndHolds(int64_t{5}));

  // A budget of 5 on r2's batcher is spent by the fleet: nothing leaves.
  InvitationBatcherOptions budgeted;
  budgeted.monthly_credits = 5;
  InvitationBatcher r2_batcher(r2_ledger->get(), client_.get(), Clock::Real(), budgeted);
  const int64_t before = api_->Stats().requests;
  CancellationToken cancel;
  absl::Status status = r2_batcher.Run(Request("credits-r2-more", Profiles(520, 4)), cancel,
                                       [](v1::SendInvitationsResponse) {
                                         return absl::OkStatus();
                                       });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("5 invitation")));
  EXPECT_EQ(ErrorReason(status), "INVITATION_CREDITS_EXHAUSTED");
  EXPECT_EQ(api_->Stats().requests, before);
}

TEST_F(FleetInvitationTest, DatabaseStoppedMidBatchSendsNothingUnrecordedAndTheRequestContinuesAfterItsReturn) {
  const std::vector<std::string> urns = Profiles(600, 120);
  const v1::SendInvitationsRequest request = Request("fleet-db-down", urns);
  Replica r1 = MakeReplica(LedgerOptions("r1", absl::Minutes(5)), Clock::Real());
  ASSERT_NE(r1.batcher, nullptr);

  // The first chunk's outcomes are recorded and emitted; then the database
  // goes away before the next claim.
  bool stopped = false;
  CallResult down = Call(r1, request, [&](const v1::SendInvitationsResponse& response) {
    if (!stopped && response.results_size() > 0) {
      stopped = true;
      ASSERT_THAT(server_->Stop(), IsOk());
    }
  });
  EXPECT_THAT(down.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(RetryDelay(down.status), Optional(kPgUnavailableRetryDelay));
  EXPECT_EQ(api_->Stats().requests, 1);
  EXPECT_EQ(api_->Stats().profiles_received, 50);

  ASSERT_THAT(server_->Start(), IsOk());
  CallResult again = Call(r1, request);
  EXPECT_THAT(again.status, IsOk());
  EXPECT_TRUE(again.done);
  ASSERT_EQ(again.results.size(), urns.size());
  for (const auto& [index, r] : again.results) {
    EXPECT_EQ(r.outcome(), v1::INVITATION_OUTCOME_SENT) << index;
  }
  ExpectEachReceivedOnce(urns);
  EXPECT_EQ(api_->Stats().duplicate_receipts, 0);
}

TEST_F(FleetInvitationTest, AnswerThatCouldNotBeRecordedExpiresAsUnknownThoughItsReplicaLives) {
  const std::vector<std::string> urns = Profiles(700, 60);
  const v1::SendInvitationsRequest request = Request("fleet-lost-answer", urns);
  PgInvitationLedgerOptions ledger_options = LedgerOptions("r1", absl::Seconds(1));
  ledger_options.maintenance_interval = absl::Milliseconds(100);
  InvitationBatcherOptions options;
  options.in_flight_poll_interval = absl::Milliseconds(100);
  Replica r1 = MakeReplica(ledger_options, Clock::Real(), options);
  ASSERT_NE(r1.batcher, nullptr);

  // The database goes away while the first chunk is at ConnectSafely: its
  // answer cannot be recorded.
  std::atomic<bool> first{true};
  SetBeforeRequest([&] {
    if (first.exchange(false)) EXPECT_THAT(server_->Stop(), IsOk());
  });
  CallResult down = Call(r1, request);
  SetBeforeRequest({});
  EXPECT_THAT(down.status, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server_->Start(), IsOk());

  // The same replica, alive all along, does not keep renewing the chunk it
  // gave up on: after its lease the chunk is UNKNOWN and the call ends.
  CallResult again = Call(r1, request, {}, absl::Seconds(20));
  EXPECT_THAT(again.status, IsOk());
  EXPECT_TRUE(again.done);
  ASSERT_EQ(again.results.size(), urns.size());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(again.results[i].outcome(), v1::INVITATION_OUTCOME_UNKNOWN) << i;
  }
  for (int i = 50; i < 60; ++i) {
    EXPECT_EQ(again.results[i].outcome(), v1::INVITATION_OUTCOME_SENT) << i;
  }
  ExpectEachReceivedOnce(urns);
}

}  // namespace
}  // namespace followgate
