// The state directory: its lock (one process per state dir) and its
// identity (it knows which invitation ledger it had), with real files, real
// flock and a real SQLite ledger in a temp dir.
#include "server/grpc/state_dir.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/invitations/invitation_ledger.h"
#include "server/invitations/sqlite_invitation_ledger.h"
#include "server/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string NewTempDir() { return ::followgate::testing::NewTempDir("state"); }

// Deletes a ledger's file with its WAL files, as an operator might.
void DeleteLedgerFiles(const std::string& ledger_file) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(ledger_file + suffix);
  }
}

class StateDirTest : public ::testing::Test {
 protected:
  std::unique_ptr<StateDir> OpenDir() {
    auto dir = StateDir::Open(path_);
    EXPECT_THAT(dir, IsOk());
    return dir.ok() ? *std::move(dir) : nullptr;
  }
  std::unique_ptr<InvitationLedger> OpenLedger(const std::string& file) {
    auto ledger = SqliteInvitationLedger::Open(file, &clock_);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }
  // Opens the state dir and binds its ledger, as the server starts.
  absl::Status Start(bool accept_new_ledger = false) {
    std::unique_ptr<StateDir> dir = OpenDir();
    std::unique_ptr<InvitationLedger> ledger = OpenLedger(dir->LedgerFile());
    return dir->BindLedger(*ledger, accept_new_ledger);
  }
  void RecordABatch(const std::string& ledger_file) {
    std::unique_ptr<InvitationLedger> ledger = OpenLedger(ledger_file);
    BatchSpec spec;
    spec.request_id = "batch-1";
    spec.company_id = "1000";
    spec.profile_urns = {"urn:li:fsd_profile:ACoA1", "urn:li:fsd_profile:ACoA2"};
    ASSERT_THAT(ledger->StartBatch(spec), IsOk());
  }

  FakeClock clock_;
  std::string path_ = NewTempDir() + "/state";
};

TEST_F(StateDirTest, SecondOpenIsRefusedNamingTheDirAndTheHoldersPid) {
  std::unique_ptr<StateDir> first = OpenDir();
  auto second = StateDir::Open(path_);
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr(absl::StrCat("pid ", getpid())),
                                     HasSubstr("shared database"))));
  EXPECT_THAT(ErrorReason(second.status()), Optional(std::string("STATE_DIR_LOCKED")));
}

TEST_F(StateDirTest, LockIsReleasedWithItsHolder) {
  OpenDir().reset();
  EXPECT_NE(OpenDir(), nullptr);
}

TEST_F(StateDirTest, FirstLedgerIsBoundAndAcceptedOnEveryStart) {
  ASSERT_THAT(Start(), IsOk());
  std::unique_ptr<StateDir> dir = OpenDir();
  std::unique_ptr<InvitationLedger> ledger = OpenLedger(dir->LedgerFile());
  auto in_file = ledger->LedgerId();
  ASSERT_THAT(in_file, IsOk());
  EXPECT_FALSE(in_file->empty());
  EXPECT_EQ(dir->identity().ledger_id, *in_file);
  EXPECT_THAT(dir->BindLedger(*ledger, false), IsOk());
}

TEST_F(StateDirTest, DeletedLedgerIsRefusedSayingWhatAcceptingMeans) {
  ASSERT_THAT(Start(), IsOk());
  RecordABatch(path_ + "/invitations.db");
  DeleteLedgerFiles(path_ + "/invitations.db");
  const absl::Status refused = Start();
  EXPECT_THAT(
      refused,
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr(path_ + "/invitations.db"), HasSubstr("deleted or emptied"),
                     HasSubstr("people may be invited twice"), HasSubstr("--accept_new_ledger"))));
  EXPECT_THAT(ErrorReason(refused), Optional(std::string("LEDGER_NOT_FOUND")));
}

TEST_F(StateDirTest, EmptiedLedgerIsRefused) {
  ASSERT_THAT(Start(), IsOk());
  RecordABatch(path_ + "/invitations.db");
  DeleteLedgerFiles(path_ + "/invitations.db");
  std::FILE* empty = std::fopen((path_ + "/invitations.db").c_str(), "w");
  ASSERT_NE(empty, nullptr);
  std::fclose(empty);
  EXPECT_THAT(Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("deleted or emptied")));
}

TEST_F(StateDirTest, AnotherLedgersFileIsRefused) {
  ASSERT_THAT(Start(), IsOk());
  const std::string other_dir = NewTempDir() + "/other";
  {
    auto other = StateDir::Open(other_dir);
    ASSERT_THAT(other, IsOk());
    std::unique_ptr<InvitationLedger> ledger = OpenLedger((*other)->LedgerFile());
    ASSERT_THAT((*other)->BindLedger(*ledger, false), IsOk());
  }
  DeleteLedgerFiles(path_ + "/invitations.db");
  std::filesystem::copy_file(other_dir + "/invitations.db", path_ + "/invitations.db");
  EXPECT_THAT(Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("was replaced by another ledger")));
}

TEST_F(StateDirTest, NewLedgerStartsWhenAcceptedAndIsTheStateDirsLedgerFromThen) {
  ASSERT_THAT(Start(), IsOk());
  DeleteLedgerFiles(path_ + "/invitations.db");
  ASSERT_THAT(Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Start(/*accept_new_ledger=*/true), IsOk());
  EXPECT_THAT(Start(), IsOk());
}

TEST_F(StateDirTest, StateDirOfAnEarlierReleaseIsAdoptedWithItsLedger) {
  // What an earlier release left: the ledger, and no identity.
  std::filesystem::create_directories(path_);
  RecordABatch(path_ + "/invitations.db");
  ASSERT_FALSE(std::filesystem::exists(path_ + "/IDENTITY"));
  ASSERT_THAT(Start(), IsOk());
  std::unique_ptr<StateDir> dir = OpenDir();
  std::unique_ptr<InvitationLedger> ledger = OpenLedger(dir->LedgerFile());
  EXPECT_THAT(ledger->BatchCount(), ::testing::Eq(absl::StatusOr<int64_t>(1)));
  EXPECT_EQ(dir->identity().ledger_id, *ledger->LedgerId());
  // From now on it is guarded like any other.
  ledger.reset();
  dir.reset();
  DeleteLedgerFiles(path_ + "/invitations.db");
  EXPECT_THAT(Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StateIdentity, MalformedFileIsRefusedNamingIt) {
  const std::string file = NewTempDir() + "/IDENTITY";
  std::FILE* out = std::fopen(file.c_str(), "w");
  ASSERT_NE(out, nullptr);
  std::fputs("not an identity\n", out);
  std::fclose(out);
  EXPECT_THAT(ReadStateIdentity(file),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(file)));
}

}  // namespace
}  // namespace followgate
