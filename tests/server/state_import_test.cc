// ImportStateDir and followgate_import against real SQLite state (made with
// the SQLite stores' public APIs) and a real PostgreSQL, checked through
// the fleet's stores.
#include "server/state_import.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/follows/pg_snapshot_store.h"
#include "server/follows/resume_token.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/grpc/state_dir.h"
#include "server/invitations/pg_invitation_ledger.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/storage/pg_db.h"
#include "server/testing/fake_clock.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::IsOkAndHolds;
using ::followgate::testing::NewTempDir;
using ::followgate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCompany[] = "company-1";
constexpr char kP1[] = "urn:li:person:1";
constexpr char kP2[] = "urn:li:person:2";
constexpr char kP3[] = "urn:li:person:3";
constexpr char kP4[] = "urn:li:person:4";

// What MakeStateDir made, to compare with what the fleet reads.
struct MadeState {
  std::string dir;
  int64_t sent_chunk_id = 0;
  int64_t in_flight_chunk_id = 0;
  SnapshotInfo complete;     // Two pages.
  SnapshotInfo in_progress;  // One page.
  std::string key;           // The resume token key's bytes.
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A state dir as one process leaves it: batch "b1" of P1..P3 at kCompany,
// P1 and P2 SENT, P3 still in flight; a complete snapshot of "q1" and one
// of "q2" in progress; a resume token key.
MadeState MakeStateDir(FakeClock& clock) {
  MadeState made;
  made.dir = NewTempDir("state");
  {
    auto ledger = SqliteInvitationLedger::Open(made.dir + "/invitations.db", &clock);
    EXPECT_THAT(ledger, IsOk());
    BatchSpec spec{"b1", kCompany, "account-1", {kP1, kP2, kP3}, false};
    EXPECT_THAT((*ledger)->StartBatch(spec), IsOk());
    absl::StatusOr<Claim> first = (*ledger)->ClaimChunk("b1", 2, false, std::nullopt);
    EXPECT_THAT(first, IsOk());
    EXPECT_TRUE(first->chunk.has_value());
    made.sent_chunk_id = first->chunk->id;
    std::vector<DecidedProfile> sent;
    for (const auto& [index, urn] : first->chunk->profiles) {
      DecidedProfile d;
      d.index = index;
      d.profile_urn = urn;
      d.outcome = v1::INVITATION_OUTCOME_SENT;
      d.invite_time = first->chunk->claimed_at;
      d.invited_by_request_id = "b1";
      sent.push_back(d);
    }
    EXPECT_THAT((*ledger)->CompleteChunk(made.sent_chunk_id, sent), IsOk());
    clock.Advance(absl::Seconds(5));
    absl::StatusOr<Claim> second = (*ledger)->ClaimChunk("b1", 2, false, std::nullopt);
    EXPECT_THAT(second, IsOk());
    EXPECT_TRUE(second->chunk.has_value());
    made.in_flight_chunk_id = second->chunk->id;  // Never answered: the process stops.
  }
  {
    auto store = SqliteSnapshotStore::Open(made.dir + "/snapshots.db", &clock);
    EXPECT_THAT(store, IsOk());
    absl::StatusOr<SnapshotInfo> q1 = (*store)->Create("q1");
    EXPECT_THAT(q1, IsOk());
    EXPECT_THAT((*store)->AppendPage(q1->id, 0, std::string("page\0zero", 9), "cursor-1"), IsOk());
    clock.Advance(absl::Microseconds(1234567));
    EXPECT_THAT((*store)->AppendPage(q1->id, 1, "page one", ""), IsOk());
    absl::StatusOr<SnapshotInfo> q2 = (*store)->Create("q2");
    EXPECT_THAT(q2, IsOk());
    EXPECT_THAT((*store)->AppendPage(q2->id, 0, "q2 page", "cursor-q2"), IsOk());
    made.complete = *(*store)->Get(q1->id).value();
    made.in_progress = *(*store)->Get(q2->id).value();
  }
  EXPECT_THAT(ResumeTokenCodec::FromKeyFile(made.dir + "/resume_token.key").status(), IsOk());
  made.key = ReadFile(made.dir + "/resume_token.key");
  EXPECT_EQ(made.key.size(), ResumeTokenCodec::kKeyBytes);
  return made;
}

class StateImportTest : public testing::PostgresSuiteTest {
 protected:
  // A new database of its own, owned by `owner`; its URL (without password).
  std::string NewDatabase(const std::string& name, const std::string& owner = "postgres") {
    auto admin = PgDb::Connect(server_->url());
    EXPECT_THAT(admin, IsOk());
    EXPECT_THAT((*admin)->Exec(absl::StrCat("CREATE DATABASE ", name, " OWNER ", owner)), IsOk());
    return absl::StrCat("postgresql://", owner, "@127.0.0.1:", server_->port(), "/", name);
  }

  std::unique_ptr<PgInvitationLedger> FleetLedger(const std::string& url) {
    PgInvitationLedgerOptions options;
    options.url = url;
    options.owner = "replica-a";
    auto ledger = PgInvitationLedger::Open(options, &clock_);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  std::unique_ptr<PgSnapshotStore> FleetSnapshots(const std::string& url) {
    auto db = PgDb::Connect(url);
    EXPECT_THAT(db, IsOk());
    auto store = PgSnapshotStore::Open(*std::move(db), &clock_);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // The resume token key in fleet_secrets; nullopt when there is none (or
  // no table).
  std::optional<std::string> FleetKey(const std::string& url) {
    auto db = PgDb::Connect(url);
    EXPECT_THAT(db, IsOk());
    absl::StatusOr<PgResult> rows =
        (*db)->Query("SELECT value FROM fleet_secrets WHERE name = $1", {kResumeTokenKeySecret});
    if (!rows.ok() || rows->rows.empty()) return std::nullopt;
    return rows->rows[0].Text(0);
  }

  FakeClock clock_{absl::FromUnixMillis(1767225600123)};
};

TEST_F(StateImportTest, CopiesLedgerSnapshotsAndKeySoNobodyIsInvitedTwice) {
  const MadeState made = MakeStateDir(clock_);
  const std::string url = NewDatabase("copies_all");
  clock_.Advance(absl::Minutes(1));

  absl::StatusOr<StateImportCounts> counts = ImportStateDir({made.dir, url, ""}, &clock_);
  ASSERT_THAT(counts, IsOk());
  EXPECT_EQ(counts->batches, 1);
  EXPECT_EQ(counts->profiles, 3);
  EXPECT_EQ(counts->chunks, 2);
  EXPECT_EQ(counts->invitations, 3);
  EXPECT_EQ(counts->snapshots, 2);
  EXPECT_EQ(counts->pages, 3);
  EXPECT_TRUE(counts->resume_token_key);

  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(url);
  ASSERT_NE(ledger, nullptr);
  absl::StatusOr<InvitationRecord> p1 = ledger->GetInvitation(kCompany, kP1);
  ASSERT_THAT(p1, IsOk());
  EXPECT_EQ(p1->outcome, v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ(p1->request_id, "b1");
  EXPECT_EQ(p1->invite_time, absl::FromUnixMillis(1767225600123));
  absl::StatusOr<InvitationRecord> p3 = ledger->GetInvitation(kCompany, kP3);
  ASSERT_THAT(p3, IsOk());
  EXPECT_EQ(p3->outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(p3->reason, kStoppedInFlightReason);

  absl::StatusOr<std::vector<DecidedProfile>> decided = ledger->DecidedProfiles("b1");
  ASSERT_THAT(decided, IsOk());
  ASSERT_EQ(decided->size(), 3u);
  EXPECT_EQ((*decided)[0].outcome, v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ((*decided)[1].outcome, v1::INVITATION_OUTCOME_SENT);
  EXPECT_EQ((*decided)[2].outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ((*decided)[2].reason, kStoppedInFlightReason);
  EXPECT_THAT(ledger->PendingProfiles("b1"), IsOkAndHolds(0));
  EXPECT_THAT(ledger->UpstreamRequests("b1"), IsOkAndHolds(2));

  // A new batch in the fleet: P1 was invited, P3 may have been; only P4 goes.
  BatchSpec again{"b2", kCompany, "account-1", {kP1, kP3, kP4}, false};
  ASSERT_THAT(ledger->StartBatch(again), IsOk());
  absl::StatusOr<Claim> claim = ledger->ClaimChunk("b2", 10, false, std::nullopt);
  ASSERT_THAT(claim, IsOk());
  ASSERT_EQ(claim->decided.size(), 2u);
  EXPECT_EQ(claim->decided[0].profile_urn, kP1);
  EXPECT_EQ(claim->decided[0].outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(claim->decided[1].profile_urn, kP3);
  EXPECT_EQ(claim->decided[1].outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  ASSERT_TRUE(claim->chunk.has_value());
  EXPECT_THAT(claim->chunk->profiles, ElementsAre(std::make_pair(2, std::string(kP4))));
  EXPECT_GT(claim->chunk->id, made.in_flight_chunk_id);

  std::unique_ptr<PgSnapshotStore> snapshots = FleetSnapshots(url);
  ASSERT_NE(snapshots, nullptr);
  absl::StatusOr<std::optional<SnapshotInfo>> complete = snapshots->Get(made.complete.id);
  ASSERT_THAT(complete, IsOk());
  ASSERT_TRUE(complete->has_value());
  EXPECT_TRUE((*complete)->complete);
  EXPECT_EQ((*complete)->query_key, "q1");
  EXPECT_EQ((*complete)->started_at, made.complete.started_at);
  EXPECT_EQ((*complete)->completed_at, made.complete.completed_at);
  EXPECT_EQ((*complete)->page_count, 2);
  EXPECT_EQ((*complete)->bytes, made.complete.bytes);
  EXPECT_THAT(snapshots->ReadPage(made.complete.id, 0),
              IsOkAndHolds(::testing::Optional(std::string("page\0zero", 9))));
  EXPECT_THAT(snapshots->ReadPage(made.complete.id, 1),
              IsOkAndHolds(::testing::Optional(std::string("page one"))));
  EXPECT_THAT(snapshots->Cursors(made.complete.id),
              IsOkAndHolds(ElementsAre("cursor-1")));
  absl::StatusOr<std::optional<SnapshotInfo>> in_progress = snapshots->LatestInProgress("q2");
  ASSERT_THAT(in_progress, IsOk());
  ASSERT_TRUE(in_progress->has_value());
  EXPECT_EQ((*in_progress)->id, made.in_progress.id);
  EXPECT_EQ((*in_progress)->next_cursor, "cursor-q2");
  // The fetch goes on where it stopped, and a new snapshot gets a new id.
  EXPECT_THAT(snapshots->AppendPage(made.in_progress.id, 1, "q2 last", ""), IsOk());
  absl::StatusOr<SnapshotInfo> created = snapshots->Create("q3");
  ASSERT_THAT(created, IsOk());
  EXPECT_GT(created->id, made.in_progress.id);

  EXPECT_EQ(FleetKey(url), made.key);
}

TEST_F(StateImportTest, RefusesADatabaseWithABatchAndWritesNothing) {
  const MadeState made = MakeStateDir(clock_);
  const std::string url = NewDatabase("has_batch");
  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(url);
  ASSERT_NE(ledger, nullptr);
  ASSERT_THAT(ledger->StartBatch({"fleet-batch", kCompany, "account-1", {kP4}, false}), IsOk());

  absl::StatusOr<StateImportCounts> counts = ImportStateDir({made.dir, url, ""}, &clock_);
  EXPECT_THAT(counts, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("the database already holds 1 batch;")));
  EXPECT_EQ(ErrorReason(counts.status()), "DATABASE_NOT_EMPTY");

  EXPECT_THAT(ledger->BatchCount(), IsOkAndHolds(1));
  EXPECT_FALSE(ledger->BatchExists("b1"));
  EXPECT_THAT(ledger->GetInvitation(kCompany, kP1), StatusIs(absl::StatusCode::kNotFound));
  std::unique_ptr<PgSnapshotStore> snapshots = FleetSnapshots(url);
  ASSERT_NE(snapshots, nullptr);
  absl::StatusOr<std::optional<SnapshotInfo>> none = snapshots->Get(made.complete.id);
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(FleetKey(url), std::nullopt);
}

TEST_F(StateImportTest, RefusesADatabaseWithAKeyOrSnapshotsSayingWhatItHolds) {
  const MadeState made = MakeStateDir(clock_);
  const std::string url = NewDatabase("has_key");
  {
    auto db = PgDb::Connect(url);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("CREATE TABLE fleet_secrets(name text PRIMARY KEY, value bytea NOT "
                            "NULL); INSERT INTO fleet_secrets VALUES ('resume_token_key', 'k')"),
                IsOk());
  }
  std::unique_ptr<PgSnapshotStore> snapshots = FleetSnapshots(url);
  ASSERT_NE(snapshots, nullptr);
  ASSERT_THAT(snapshots->Create("fleet-query"), IsOk());
  ASSERT_THAT(snapshots->Create("fleet-query"), IsOk());

  EXPECT_THAT(ImportStateDir({made.dir, url, ""}, &clock_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already holds 2 snapshots, a resume token key;")));
  EXPECT_EQ(FleetKey(url), "k");
  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(url);
  ASSERT_NE(ledger, nullptr);
  EXPECT_THAT(ledger->BatchCount(), IsOkAndHolds(0));
}

TEST_F(StateImportTest, AFailureHalfwayLeavesNothingImported) {
  const MadeState made = MakeStateDir(clock_);
  const std::string url = NewDatabase("fails_halfway");
  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(url);
  ASSERT_NE(ledger, nullptr);
  // Not state the check refuses, but the chunks' copy, after the batches
  // and profiles, collides with it.
  {
    auto db = PgDb::Connect(url);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec(absl::StrCat("INSERT INTO invitation_chunks(chunk_id, request_id, "
                                         "state, owner, alive_until, started_at) VALUES (",
                                         made.sent_chunk_id, ", 'gone', 'DONE', 'x', 0, 0)")),
                IsOk());
  }

  EXPECT_THAT(ImportStateDir({made.dir, url, ""}, &clock_),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ledger->BatchCount(), IsOkAndHolds(0));
  EXPECT_THAT(ledger->GetInvitation(kCompany, kP1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(FleetKey(url), std::nullopt);
}

TEST_F(StateImportTest, RefusesAStateDirAServerHolds) {
  const MadeState made = MakeStateDir(clock_);
  const std::string url = NewDatabase("locked_dir");
  auto held = StateDir::Open(made.dir);
  ASSERT_THAT(held, IsOk());

  absl::StatusOr<StateImportCounts> counts = ImportStateDir({made.dir, url, ""}, &clock_);
  EXPECT_THAT(counts, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(counts.status()), "STATE_DIR_LOCKED");
  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(url);
  ASSERT_NE(ledger, nullptr);
  EXPECT_THAT(ledger->BatchCount(), IsOkAndHolds(0));
}

TEST_F(StateImportTest, NamesTheFieldOfABadOption) {
  const std::string dir = NewTempDir("state");
  EXPECT_THAT(ImportStateDir({"", "postgresql://x@127.0.0.1:1/db", ""}, &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("state_dir")));
  EXPECT_THAT(ImportStateDir({dir + "/missing", "postgresql://x@127.0.0.1:1/db", ""}, &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a directory")));
  EXPECT_THAT(ImportStateDir({dir, "", ""}, &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("database_url")));
}

// Runs `command` through the shell; its exit code and its output (stdout
// and stderr together).
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_F(StateImportTest, BinaryImportsWithAPasswordFileOnceAndThenRefuses) {
  const MadeState made = MakeStateDir(clock_);
  constexpr char kPassword[] = "import-secret-pw-7f3a";
  {
    auto admin = PgDb::Connect(server_->url());
    ASSERT_THAT(admin, IsOk());
    ASSERT_THAT((*admin)->Exec(absl::StrCat("CREATE ROLE importer LOGIN PASSWORD '", kPassword,
                                            "'")),
                IsOk());
  }
  const std::string url = NewDatabase("binary_run", "importer");
  const std::string password_file = NewTempDir("secret") + "/pg";
  std::ofstream(password_file) << kPassword << "\n";
  const std::string binary =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/followgate/server/followgate_import");
  const std::string command = absl::StrCat(binary, " --state_dir=", made.dir, " --database_url=",
                                           url, " --database_password_file=", password_file);

  const auto [code, output] = RunCommand(command);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("1 batches, 3 profiles, 2 chunks, 3 invitations, 2 snapshots, "
                                "3 pages, the resume token key"));
  const auto [again_code, again_output] = RunCommand(command);
  EXPECT_EQ(again_code, 1) << again_output;
  EXPECT_THAT(again_output, HasSubstr("already holds 1 batch, 3 invitation records, 2 snapshots, "
                                      "a resume token key"));
  EXPECT_THAT(again_output, Not(HasSubstr(kPassword)));

  // Without the password the server refuses the connection.
  const auto [no_password_code, no_password_output] =
      RunCommand(absl::StrCat(binary, " --state_dir=", made.dir, " --database_url=", url));
  EXPECT_EQ(no_password_code, 1) << no_password_output;

  const auto [flag_code, flag_output] = RunCommand(absl::StrCat(binary, " --state_dri=x"));
  EXPECT_EQ(flag_code, 1);
  EXPECT_THAT(flag_output, HasSubstr("state_dri"));
  const auto [arg_code, arg_output] = RunCommand(absl::StrCat(binary, " stray"));
  EXPECT_EQ(arg_code, 1);
  EXPECT_THAT(arg_output, HasSubstr("unexpected argument"));

  std::unique_ptr<PgInvitationLedger> ledger = FleetLedger(
      absl::StrCat("postgresql://postgres@127.0.0.1:", server_->port(), "/binary_run"));
  ASSERT_NE(ledger, nullptr);
  EXPECT_THAT(ledger->GetInvitation(kCompany, kP2),
              IsOkAndHolds(::testing::Field(&InvitationRecord::outcome,
                                                   v1::INVITATION_OUTCOME_SENT)));
}

}  // namespace
}  // namespace followgate
