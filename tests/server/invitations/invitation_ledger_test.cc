// The InvitationLedger contract, run against every backend (a real SQLite
// file in a temp dir; a database of its own on a throwaway PostgreSQL
// cluster), opened again as a restarted server opens it, on a fake clock;
// then what only SqliteInvitationLedger or PgInvitationLedger does.
#include "server/invitations/invitation_ledger.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/base/error_details.h"
#include "server/invitations/pg_invitation_ledger.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_clock.h"
#include "server/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::NewTempDir;
using ::followgate::testing::PostgresServer;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kCompany[] = "105672170";
constexpr char kOtherCompany[] = "1000";
constexpr char kCrashReason[] =
    "followgate stopped while the request was in flight; it may have been sent";

std::string Profile(int i) { return absl::StrCat("urn:li:fsd_profile:ACoA", i); }

std::vector<std::string> Profiles(int first, int count) {
  std::vector<std::string> urns;
  for (int i = first; i < first + count; ++i) urns.push_back(Profile(i));
  return urns;
}

BatchSpec Spec(const std::string& request_id, std::vector<std::string> urns,
               const std::string& company = kCompany) {
  BatchSpec spec;
  spec.request_id = request_id;
  spec.company_id = company;
  spec.profile_urns = std::move(urns);
  return spec;
}

// Each profile of `chunk` with `outcome`, as the batcher records an answer.
std::vector<DecidedProfile> Outcomes(const Chunk& chunk, const std::string& request_id,
                                     v1::InvitationOutcome outcome) {
  std::vector<DecidedProfile> outcomes;
  for (const auto& [index, urn] : chunk.profiles) {
    outcomes.push_back({index, urn, outcome, "", chunk.claimed_at, request_id});
  }
  return outcomes;
}

// November 2023, with `per_month` credits.
CreditBudget November(int64_t per_month) {
  CreditBudget budget;
  budget.per_month = per_month;
  budget.month_start = absl::FromCivil(absl::CivilMonth(2023, 11), absl::UTCTimeZone());
  budget.month_end = absl::FromCivil(absl::CivilMonth(2023, 12), absl::UTCTimeZone());
  return budget;
}

// Where one test's ledger lives. Each backend object starts with an empty
// ledger; every Open() opens a ledger on the same records, as a restarted
// server does.
class LedgerBackend {
 public:
  virtual ~LedgerBackend() = default;
  virtual absl::StatusOr<std::unique_ptr<InvitationLedger>> Open(Clock* clock) = 0;
};

// A SQLite file in a temp dir of its own.
class SqliteLedgerBackend final : public LedgerBackend {
 public:
  absl::StatusOr<std::unique_ptr<InvitationLedger>> Open(Clock* clock) override {
    return SqliteInvitationLedger::Open(path_, clock);
  }

 private:
  const std::string path_ = NewTempDir("ledger") + "/invitations.db";
};

// The binary's one PostgreSQL cluster, started on the main thread before
// the first test (it takes about a second) and stopped after the last.
class PostgresEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    // Hermetic: no password from the environment or a ~/.pgpass.
    unsetenv("PGPASSWORD");
    setenv("PGPASSFILE", absl::StrCat(std::getenv("TEST_TMPDIR"), "/no-pgpass").c_str(), 1);
    absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Create();
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }
  void TearDown() override { server_.reset(); }

  // A new, empty database; its URL, or the error that prevented it.
  static absl::StatusOr<std::string> NewDatabase() {
    if (server_ == nullptr) return absl::FailedPreconditionError("no PostgreSQL server");
    absl::StatusOr<std::unique_ptr<PgDb>> db = PgDb::Connect(server_->url());
    if (!db.ok()) return db.status();
    static int databases = 0;
    const std::string name = absl::StrCat("ledger_", ++databases);
    if (absl::Status created = (*db)->Exec(absl::StrCat("CREATE DATABASE ", name));
        !created.ok()) {
      return created;
    }
    return absl::StrCat("postgresql://postgres@127.0.0.1:", server_->port(), "/", name);
  }

 private:
  static std::unique_ptr<PostgresServer> server_;
};

std::unique_ptr<PostgresServer> PostgresEnvironment::server_;
::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

PgInvitationLedgerOptions PgOptions(const std::string& url, const std::string& owner) {
  PgInvitationLedgerOptions options;
  options.url = url;
  options.owner = owner;
  options.lease = absl::Minutes(5);
  return options;
}

// A database of its own; every Open() is the same replica starting again,
// so what it left in flight is its own and recovered.
class PgLedgerBackend final : public LedgerBackend {
 public:
  absl::StatusOr<std::unique_ptr<InvitationLedger>> Open(Clock* clock) override {
    if (!url_.ok()) return url_.status();
    return PgInvitationLedger::Open(PgOptions(*url_, "replica-1"), clock);
  }

 private:
  const absl::StatusOr<std::string> url_ = PostgresEnvironment::NewDatabase();
};

// One backend of the parameter list: its name (in the test names) and how
// to make one.
struct Backend {
  std::string name;
  std::function<std::unique_ptr<LedgerBackend>()> make;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class InvitationLedgerTest : public ::testing::TestWithParam<Backend> {
 protected:
  InvitationLedgerTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2023, 11, 14, 12, 0, 0), absl::UTCTimeZone())),
        backend_(GetParam().make()) {
    Reopen();
  }

  // Opens the ledger (again), as a starting server does.
  void Reopen() {
    ledger_.reset();
    auto ledger = backend_->Open(&clock_);
    ASSERT_THAT(ledger, IsOk());
    ledger_ = *std::move(ledger);
  }

  void Start(const BatchSpec& spec) { ASSERT_THAT(ledger_->StartBatch(spec), IsOk()); }

  Claim ClaimOf(const std::string& request_id, int max_profiles = 50, bool retry_unknown = false,
                const std::optional<CreditBudget>& budget = std::nullopt) {
    absl::StatusOr<Claim> claim =
        ledger_->ClaimChunk(request_id, max_profiles, retry_unknown, budget);
    EXPECT_THAT(claim, IsOk());
    return claim.ok() ? *std::move(claim) : Claim();
  }

  // Claims a chunk of the batch and records ConnectSafely's answer `outcome`
  // for all of it; returns the chunk.
  Chunk SendAll(const std::string& request_id, v1::InvitationOutcome outcome,
                int max_profiles = 50) {
    Claim claim = ClaimOf(request_id, max_profiles);
    EXPECT_TRUE(claim.chunk.has_value());
    if (!claim.chunk.has_value()) return Chunk();
    EXPECT_THAT(ledger_->CompleteChunk(claim.chunk->id,
                                       Outcomes(*claim.chunk, request_id, outcome)),
                IsOk());
    return *claim.chunk;
  }

  // The batch's decided profiles by index, as (outcome, reason).
  std::map<int, std::pair<v1::InvitationOutcome, std::string>> Decided(
      const std::string& request_id) {
    std::map<int, std::pair<v1::InvitationOutcome, std::string>> decided;
    auto profiles = ledger_->DecidedProfiles(request_id);
    EXPECT_THAT(profiles, IsOk());
    if (!profiles.ok()) return decided;
    for (const DecidedProfile& d : *profiles) decided[d.index] = {d.outcome, d.reason};
    return decided;
  }

  v1::InvitationOutcome RecordedOutcome(const std::string& urn,
                                        const std::string& company = kCompany) {
    auto record = ledger_->GetInvitation(company, urn);
    EXPECT_THAT(record, IsOk()) << urn;
    return record.ok() ? record->outcome : v1::INVITATION_OUTCOME_UNSPECIFIED;
  }

  FakeClock clock_;
  const std::unique_ptr<LedgerBackend> backend_;
  std::unique_ptr<InvitationLedger> ledger_;
};

// Every backend runs every InvitationLedgerTest: a new backend is one more
// line.
INSTANTIATE_TEST_SUITE_P(
    Backends, InvitationLedgerTest,
    ::testing::Values(Backend{"Sqlite", [] { return std::make_unique<SqliteLedgerBackend>(); }},
                      Backend{"Postgres", [] { return std::make_unique<PgLedgerBackend>(); }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST_P(InvitationLedgerTest, StartingTheSameBatchAgainFindsItWithItsOutcomes) {
  EXPECT_FALSE(ledger_->BatchExists("b1"));
  Start(Spec("b1", Profiles(0, 3)));
  SendAll("b1", v1::INVITATION_OUTCOME_SENT, 2);
  Start(Spec("b1", Profiles(0, 3)));
  EXPECT_TRUE(ledger_->BatchExists("b1"));
  EXPECT_THAT(ledger_->BatchCount(), ::testing::Eq(absl::StatusOr<int64_t>(1)));
  EXPECT_THAT(Decided("b1"), ElementsAre(Pair(0, Pair(v1::INVITATION_OUTCOME_SENT, "")),
                                         Pair(1, Pair(v1::INVITATION_OUTCOME_SENT, ""))));
  EXPECT_THAT(ledger_->PendingProfiles("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
}

TEST_P(InvitationLedgerTest, SameRequestIdWithOtherAccountOrRetryUnknownIsAlreadyExists) {
  Start(Spec("b1", Profiles(0, 3)));
  BatchSpec other_account = Spec("b1", Profiles(0, 3));
  other_account.account_id = "acct-2";
  const absl::Status account = ledger_->StartBatch(other_account);
  EXPECT_THAT(account, StatusIs(absl::StatusCode::kAlreadyExists,
                                HasSubstr("\"b1\" already names a batch with a different "
                                          "account_id")));
  EXPECT_EQ(ErrorReason(account), "REQUEST_ID_REUSED");
  BatchSpec retry = Spec("b1", Profiles(0, 3));
  retry.retry_unknown = true;
  EXPECT_THAT(ledger_->StartBatch(retry),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("different retry_unknown")));
}

TEST_P(InvitationLedgerTest, ClaimOfABatchNeverStartedIsNotFound) {
  EXPECT_THAT(ledger_->ClaimChunk("nope", 50, false, std::nullopt),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no batch nope")));
}

TEST_P(InvitationLedgerTest, ClaimTakesAtMostMaxProfilesInOrderAndTheRestStayPending) {
  Start(Spec("b1", Profiles(0, 5)));
  Claim first = ClaimOf("b1", 2);
  ASSERT_TRUE(first.chunk.has_value());
  EXPECT_THAT(first.chunk->profiles, ElementsAre(Pair(0, Profile(0)), Pair(1, Profile(1))));
  EXPECT_TRUE(first.decided.empty());
  // In flight counts as pending, and nothing is decided yet.
  EXPECT_THAT(ledger_->PendingProfiles("b1"), ::testing::Eq(absl::StatusOr<int>(5)));
  EXPECT_TRUE(Decided("b1").empty());
  Claim second = ClaimOf("b1", 2);
  ASSERT_TRUE(second.chunk.has_value());
  EXPECT_THAT(second.chunk->profiles, ElementsAre(Pair(2, Profile(2)), Pair(3, Profile(3))));
  Claim third = ClaimOf("b1", 2);
  ASSERT_TRUE(third.chunk.has_value());
  EXPECT_THAT(third.chunk->profiles, ElementsAre(Pair(4, Profile(4))));
  const Claim none = ClaimOf("b1", 2);
  EXPECT_FALSE(none.chunk.has_value());
  EXPECT_TRUE(none.decided.empty());
}

TEST_P(InvitationLedgerTest, ClaimedProfileIsInFlightSinceTheClaimToTheMillisecond) {
  clock_.Advance(absl::Microseconds(1500));
  Start(Spec("b1", Profiles(0, 1)));
  const Claim claim = ClaimOf("b1");
  ASSERT_TRUE(claim.chunk.has_value());
  EXPECT_EQ(claim.chunk->claimed_at, clock_.Now() - absl::Microseconds(500));
  auto record = ledger_->GetInvitation(kCompany, Profile(0));
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(record->reason, "the request is in flight");
  EXPECT_EQ(record->invite_time, claim.chunk->claimed_at);
  EXPECT_EQ(record->request_id, "b1");
}

TEST_P(InvitationLedgerTest, ProfileInFlightForOneBatchIsAlreadyInvitedForAnother) {
  Start(Spec("b1", Profiles(0, 1)));
  const Claim b1 = ClaimOf("b1");
  ASSERT_TRUE(b1.chunk.has_value());
  Start(Spec("b2", {Profile(0), Profile(1)}));
  const Claim b2 = ClaimOf("b2");
  ASSERT_EQ(b2.decided.size(), 1u);
  EXPECT_EQ(b2.decided[0].profile_urn, Profile(0));
  EXPECT_EQ(b2.decided[0].outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(b2.decided[0].invited_by_request_id, "b1");
  EXPECT_EQ(b2.decided[0].invite_time, b1.chunk->claimed_at);
  ASSERT_TRUE(b2.chunk.has_value());
  EXPECT_THAT(b2.chunk->profiles, ElementsAre(Pair(1, Profile(1))));
  // The decision is recorded, not only returned.
  EXPECT_THAT(Decided("b2"), ElementsAre(Pair(0, Pair(v1::INVITATION_OUTCOME_ALREADY_INVITED,
                                                       "invited by batch b1"))));
}

TEST_P(InvitationLedgerTest, ClaimWalksPastMoreThanAPageOfProfilesNotToBeSent) {
  Start(Spec("b1", Profiles(0, 300)));
  SendAll("b1", v1::INVITATION_OUTCOME_SENT, 300);
  std::vector<std::string> urns = Profiles(0, 300);
  urns.push_back(Profile(1000));
  Start(Spec("b2", urns));
  const Claim claim = ClaimOf("b2");
  EXPECT_EQ(claim.decided.size(), 300u);
  ASSERT_TRUE(claim.chunk.has_value());
  EXPECT_THAT(claim.chunk->profiles, ElementsAre(Pair(300, Profile(1000))));
}

TEST_P(InvitationLedgerTest, CompletedChunkRecordsEachProfilesOutcomeForBatchAndCompany) {
  Start(Spec("b1", Profiles(0, 3)));
  const Claim claim = ClaimOf("b1");
  ASSERT_TRUE(claim.chunk.has_value());
  std::vector<DecidedProfile> outcomes =
      Outcomes(*claim.chunk, "b1", v1::INVITATION_OUTCOME_SENT);
  outcomes[1].outcome = v1::INVITATION_OUTCOME_FAILED;
  outcomes[1].reason = "FAILED: Not a 1st-degree connection";
  outcomes[2].outcome = v1::INVITATION_OUTCOME_ALREADY_INVITED;
  ASSERT_THAT(ledger_->CompleteChunk(claim.chunk->id, outcomes), IsOk());
  EXPECT_THAT(Decided("b1"),
              ElementsAre(Pair(0, Pair(v1::INVITATION_OUTCOME_SENT, "")),
                          Pair(1, Pair(v1::INVITATION_OUTCOME_FAILED,
                                       "FAILED: Not a 1st-degree connection")),
                          Pair(2, Pair(v1::INVITATION_OUTCOME_ALREADY_INVITED, ""))));
  EXPECT_EQ(RecordedOutcome(Profile(0)), v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ(RecordedOutcome(Profile(1)), v1::INVITATION_OUTCOME_FAILED);
  EXPECT_EQ(RecordedOutcome(Profile(2)), v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_THAT(ledger_->PendingProfiles("b1"), ::testing::Eq(absl::StatusOr<int>(0)));
  EXPECT_THAT(ledger_->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
}

TEST_P(InvitationLedgerTest, ChunkMarkedUnknownIsUnknownForBatchAndCompanyAndCounted) {
  Start(Spec("b1", Profiles(0, 2)));
  const Claim claim = ClaimOf("b1");
  ASSERT_TRUE(claim.chunk.has_value());
  ASSERT_THAT(ledger_->MarkChunkUnknown(claim.chunk->id, "ConnectSafely answered HTTP 500"),
              IsOk());
  auto decided = ledger_->DecidedProfiles("b1");
  ASSERT_THAT(decided, IsOk());
  ASSERT_EQ(decided->size(), 2u);
  EXPECT_EQ((*decided)[0].outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ((*decided)[0].reason, "ConnectSafely answered HTTP 500");
  EXPECT_EQ((*decided)[0].invited_by_request_id, "b1");
  EXPECT_EQ((*decided)[0].invite_time, claim.chunk->claimed_at);
  auto record = ledger_->GetInvitation(kCompany, Profile(1));
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(record->reason, "ConnectSafely answered HTTP 500");
  EXPECT_THAT(ledger_->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
}

TEST_P(InvitationLedgerTest, ReleasedChunkIsPendingAgainForgottenAndNotARequest) {
  Start(Spec("b1", Profiles(0, 2)));
  const Claim claim = ClaimOf("b1");
  ASSERT_TRUE(claim.chunk.has_value());
  ASSERT_THAT(ledger_->ReleaseChunk(claim.chunk->id), IsOk());
  EXPECT_THAT(ledger_->GetInvitation(kCompany, Profile(0)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ledger_->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(0)));
  const Claim again = ClaimOf("b1");
  ASSERT_TRUE(again.chunk.has_value());
  EXPECT_EQ(again.chunk->profiles, claim.chunk->profiles);
  EXPECT_NE(again.chunk->id, claim.chunk->id);
}

TEST_P(InvitationLedgerTest, ReleasedRetryOfAnUnknownProfileLeavesItUnknown) {
  Start(Spec("b1", Profiles(0, 1)));
  SendAll("b1", v1::INVITATION_OUTCOME_UNKNOWN);
  BatchSpec retry = Spec("b2", Profiles(0, 1));
  retry.retry_unknown = true;
  Start(retry);
  const Claim claim = ClaimOf("b2", 50, /*retry_unknown=*/true);
  ASSERT_TRUE(claim.chunk.has_value());
  ASSERT_THAT(ledger_->ReleaseChunk(claim.chunk->id), IsOk());
  EXPECT_EQ(RecordedOutcome(Profile(0)), v1::INVITATION_OUTCOME_UNKNOWN);
  // A batch without retry_unknown still does not send it.
  Start(Spec("b3", Profiles(0, 1)));
  const Claim cautious = ClaimOf("b3");
  EXPECT_FALSE(cautious.chunk.has_value());
  ASSERT_EQ(cautious.decided.size(), 1u);
  EXPECT_EQ(cautious.decided[0].outcome, v1::INVITATION_OUTCOME_UNKNOWN);
}

TEST_P(InvitationLedgerTest, ReopeningTheLedgerKeepsBatchesOutcomesAndInvitations) {
  Start(Spec("b1", Profiles(0, 3)));
  SendAll("b1", v1::INVITATION_OUTCOME_SENT, 2);
  ASSERT_THAT(ledger_->SetLedgerId("ledger-1"), IsOk());
  Reopen();
  EXPECT_TRUE(ledger_->BatchExists("b1"));
  EXPECT_THAT(ledger_->BatchCount(), ::testing::Eq(absl::StatusOr<int64_t>(1)));
  EXPECT_THAT(ledger_->LedgerId(), ::testing::Eq(absl::StatusOr<std::string>("ledger-1")));
  EXPECT_THAT(Decided("b1"), ElementsAre(Pair(0, Pair(v1::INVITATION_OUTCOME_SENT, "")),
                                         Pair(1, Pair(v1::INVITATION_OUTCOME_SENT, ""))));
  EXPECT_EQ(RecordedOutcome(Profile(1)), v1::INVITATION_OUTCOME_SENT);
  EXPECT_THAT(ledger_->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
  const Claim rest = ClaimOf("b1");
  ASSERT_TRUE(rest.chunk.has_value());
  EXPECT_THAT(rest.chunk->profiles, ElementsAre(Pair(2, Profile(2))));
  // Nobody invited before the restart is invited again after it.
  Start(Spec("b2", Profiles(0, 2)));
  const Claim b2 = ClaimOf("b2");
  EXPECT_FALSE(b2.chunk.has_value());
  EXPECT_EQ(b2.decided.size(), 2u);
}

TEST_P(InvitationLedgerTest, ChunkInFlightWhenTheLedgerIsReopenedIsUnknownAndStillCounted) {
  Start(Spec("b1", Profiles(0, 3)));
  const Claim claim = ClaimOf("b1", 2);
  ASSERT_TRUE(claim.chunk.has_value());
  Reopen();
  auto decided = ledger_->DecidedProfiles("b1");
  ASSERT_THAT(decided, IsOk());
  ASSERT_EQ(decided->size(), 2u);
  for (const DecidedProfile& d : *decided) {
    EXPECT_EQ(d.outcome, v1::INVITATION_OUTCOME_UNKNOWN) << d.index;
    EXPECT_EQ(d.reason, kCrashReason) << d.index;
    EXPECT_EQ(d.invited_by_request_id, "b1") << d.index;
    EXPECT_EQ(d.invite_time, claim.chunk->claimed_at) << d.index;
  }
  auto record = ledger_->GetInvitation(kCompany, Profile(0));
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(record->reason, kCrashReason);
  EXPECT_THAT(ledger_->PendingProfiles("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
  EXPECT_THAT(ledger_->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
  EXPECT_THAT(ledger_->CreditsUsed(kCompany, November(0).month_start, November(0).month_end),
              ::testing::Eq(absl::StatusOr<int64_t>(2)));
}

TEST_P(InvitationLedgerTest, CreditsAreSentInFlightAndUnknownInvitationsOfTheCompanyInTheWindow) {
  const absl::Time claimed_at = clock_.Now();
  Start(Spec("b1", Profiles(0, 4)));
  const Claim claim = ClaimOf("b1");
  ASSERT_TRUE(claim.chunk.has_value());
  std::vector<DecidedProfile> outcomes =
      Outcomes(*claim.chunk, "b1", v1::INVITATION_OUTCOME_SENT);
  outcomes[1].outcome = v1::INVITATION_OUTCOME_FAILED;
  outcomes[2].outcome = v1::INVITATION_OUTCOME_ALREADY_INVITED;
  outcomes[3].outcome = v1::INVITATION_OUTCOME_UNKNOWN;
  ASSERT_THAT(ledger_->CompleteChunk(claim.chunk->id, outcomes), IsOk());
  Start(Spec("b2", Profiles(10, 1)));
  ASSERT_TRUE(ClaimOf("b2").chunk.has_value());  // In flight.
  Start(Spec("b3", Profiles(0, 1), kOtherCompany));
  SendAll("b3", v1::INVITATION_OUTCOME_SENT);

  const CreditBudget month = November(0);
  auto used = [&](absl::Time start, absl::Time end) {
    absl::StatusOr<int64_t> credits = ledger_->CreditsUsed(kCompany, start, end);
    EXPECT_THAT(credits, IsOk());
    return credits.ok() ? *credits : -1;
  };
  EXPECT_EQ(used(month.month_start, month.month_end), 3);  // Profiles 0, 3 and 10.
  EXPECT_EQ(used(claimed_at, month.month_end), 3);         // The start is in the window,
  EXPECT_EQ(used(month.month_start, claimed_at), 0);       // the end is not.
}

TEST_P(InvitationLedgerTest, BudgetCountsCreditsOtherBatchesSpentThisMonth) {
  Start(Spec("b1", Profiles(0, 2)));
  ASSERT_TRUE(ClaimOf("b1").chunk.has_value());  // In flight: spent.
  Start(Spec("b2", Profiles(10, 3)));
  const Claim claim = ClaimOf("b2", 50, false, November(3));
  ASSERT_TRUE(claim.chunk.has_value());
  EXPECT_THAT(claim.chunk->profiles, ElementsAre(Pair(0, Profile(10))));
  ASSERT_EQ(claim.decided.size(), 2u);
  EXPECT_EQ(claim.decided[0].outcome, v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT);
  EXPECT_EQ(claim.decided[0].reason,
            "the page's monthly budget of 3 invitations is spent until 2023-12-01T00:00:00Z");
}

TEST_P(InvitationLedgerTest, InvitationsAreKeptPerCompany) {
  Start(Spec("b1", Profiles(0, 1)));
  SendAll("b1", v1::INVITATION_OUTCOME_SENT);
  EXPECT_THAT(ledger_->GetInvitation(kOtherCompany, Profile(0)),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("followgate never invited urn:li:fsd_profile:ACoA0 to follow "
                                 "company 1000")));
  Start(Spec("b2", Profiles(0, 1), kOtherCompany));
  const Claim claim = ClaimOf("b2");
  ASSERT_TRUE(claim.chunk.has_value());
  EXPECT_TRUE(claim.decided.empty());
}

TEST_P(InvitationLedgerTest, LedgerIdIsEmptyUntilSetAndTheLastOneSetWins) {
  EXPECT_THAT(ledger_->LedgerId(), ::testing::Eq(absl::StatusOr<std::string>("")));
  ASSERT_THAT(ledger_->SetLedgerId("ledger-1"), IsOk());
  ASSERT_THAT(ledger_->SetLedgerId("ledger-2"), IsOk());
  EXPECT_THAT(ledger_->LedgerId(), ::testing::Eq(absl::StatusOr<std::string>("ledger-2")));
}

TEST(SqliteInvitationLedgerOpen, FileThatCannotBeOpenedIsUnavailable) {
  FakeClock clock;
  EXPECT_THAT(SqliteInvitationLedger::Open(NewTempDir("ledger") + "/missing/invitations.db",
                                           &clock),
              StatusIs(absl::StatusCode::kUnavailable));
}

// Two replicas, each ledger on its own connection, with many threads each:
// every thread runs a batch of the same company whose profiles are the same
// set in another order, so their claims race for every profile.
TEST(PgInvitationLedgerFleet, ConcurrentClaimsOfTwoReplicasNeverTakeAProfileTwice) {
  const absl::StatusOr<std::string> url = PostgresEnvironment::NewDatabase();
  ASSERT_THAT(url, IsOk());
  FakeClock clock;
  std::vector<std::unique_ptr<PgInvitationLedger>> replicas;
  for (const std::string owner : {"replica-a", "replica-b"}) {
    auto ledger = PgInvitationLedger::Open(PgOptions(*url, owner), &clock);
    ASSERT_THAT(ledger, IsOk());
    replicas.push_back(*std::move(ledger));
  }
  constexpr int kThreads = 8;
  constexpr int kProfiles = 120;
  absl::Mutex mu;
  std::map<std::string, int> claims;  // urn -> how many chunks took it
  absl::Barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      InvitationLedger& ledger = *replicas[t % 2];
      std::vector<std::string> urns;
      for (int i = 0; i < kProfiles; ++i) urns.push_back(Profile((i + t * 17) % kProfiles));
      const std::string request_id = absl::StrCat("b", t);
      start.Block();
      ASSERT_THAT(ledger.StartBatch(Spec(request_id, urns)), IsOk());
      for (int round = 0;; ++round) {
        absl::StatusOr<Claim> claim = ledger.ClaimChunk(request_id, 2, false, std::nullopt);
        ASSERT_THAT(claim, IsOk());
        if (!claim->chunk.has_value()) break;
        {
          absl::MutexLock lock(&mu);
          for (const auto& [index, urn] : claim->chunk->profiles) ++claims[urn];
        }
        // Answered or lost: either way never to be sent again.
        if (round % 2 == 0) {
          ASSERT_THAT(ledger.CompleteChunk(claim->chunk->id,
                                           Outcomes(*claim->chunk, request_id,
                                                    v1::INVITATION_OUTCOME_SENT)),
                      IsOk());
        } else {
          ASSERT_THAT(ledger.MarkChunkUnknown(claim->chunk->id, "lost"), IsOk());
        }
      }
      EXPECT_THAT(ledger.PendingProfiles(request_id), ::testing::Eq(absl::StatusOr<int>(0)));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(claims.size(), static_cast<size_t>(kProfiles));
  for (const auto& [urn, times] : claims) EXPECT_EQ(times, 1) << urn;
}

TEST(PgInvitationLedgerFleet, AnotherReplicasChunkBecomesUnknownOnlyWhenItsLeaseExpiresAndALateAnswerWins) {
  const absl::StatusOr<std::string> url = PostgresEnvironment::NewDatabase();
  ASSERT_THAT(url, IsOk());
  FakeClock clock;
  auto a = PgInvitationLedger::Open(PgOptions(*url, "replica-a"), &clock);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT((*a)->StartBatch(Spec("b1", Profiles(0, 1))), IsOk());
  auto claim = (*a)->ClaimChunk("b1", 50, false, std::nullopt);
  ASSERT_THAT(claim, IsOk());
  ASSERT_TRUE(claim->chunk.has_value());
  auto reason = [&](InvitationLedger& ledger) {
    auto record = ledger.GetInvitation(kCompany, Profile(0));
    EXPECT_THAT(record, IsOk());
    return record.ok() ? record->reason : "";
  };

  // Replica b starts while a is alive: a's chunk stays in flight.
  auto b = PgInvitationLedger::Open(PgOptions(*url, "replica-b"), &clock);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(reason(**b), "the request is in flight");
  // a renews its lease just before it ends.
  clock.Advance(absl::Minutes(4));
  ASSERT_THAT((*a)->RenewLease(), IsOk());
  clock.Advance(absl::Minutes(4));
  EXPECT_THAT((*b)->RecoverExpiredChunks(), ::testing::Eq(absl::StatusOr<int64_t>(0)));
  EXPECT_EQ(reason(**b), "the request is in flight");
  // a falls silent: once its lease has expired, a replica that opens the
  // ledger takes the chunk for abandoned.
  clock.Advance(absl::Minutes(1));
  auto c = PgInvitationLedger::Open(PgOptions(*url, "replica-c"), &clock);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(reason(**c), kCrashReason);
  EXPECT_THAT((*c)->UpstreamRequests("b1"), ::testing::Eq(absl::StatusOr<int>(1)));
  // The answer that arrives after all replaces the guess.
  ASSERT_THAT((*a)->CompleteChunk(claim->chunk->id,
                                  Outcomes(*claim->chunk, "b1", v1::INVITATION_OUTCOME_SENT)),
              IsOk());
  auto record = (*c)->GetInvitation(kCompany, Profile(0));
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->outcome, v1::INVITATION_OUTCOME_SENT);
}

TEST(PgInvitationLedgerOpen, ReplicasStartingAtOnceOnAnEmptyDatabaseAllOpenTheLedger) {
  const absl::StatusOr<std::string> url = PostgresEnvironment::NewDatabase();
  ASSERT_THAT(url, IsOk());
  FakeClock clock;
  constexpr int kReplicas = 6;
  absl::Barrier start(kReplicas);
  std::vector<absl::Status> opened(kReplicas);
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) {
    threads.emplace_back([&, r] {
      start.Block();
      opened[r] =
          PgInvitationLedger::Open(PgOptions(*url, absl::StrCat("replica-", r)), &clock).status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int r = 0; r < kReplicas; ++r) EXPECT_THAT(opened[r], IsOk()) << "replica-" << r;
}

TEST(PgInvitationLedgerOpen, EmptyOwnerIsInvalidArgument) {
  FakeClock clock;
  EXPECT_THAT(PgInvitationLedger::Open(PgOptions("postgresql://127.0.0.1:1/none", ""), &clock),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("owner name")));
}

}  // namespace
}  // namespace followgate
