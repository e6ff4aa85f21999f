// Starting the whole server in process: one process per state dir, one
// server per port, and no start without the invitation ledger the state dir
// had. The built-in sandbox upstreams stand in for LinkedIn and ConnectSafely.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/grpc/server.h"
#include "server/testing/sandboxed_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StartSandboxedServer;
using ::followgate::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string NewTempDir() { return ::followgate::testing::NewTempDir("startup"); }

// Invitations on (the sandbox brings a ConnectSafely key), on 127.0.0.1:0.
ServerOptions SandboxOptions(const std::string& state_dir) {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.state_dir = state_dir;
  options.drain_grace = absl::ZeroDuration();
  return options;
}

TEST(ServerStartup, SecondServerOnOneStateDirRefusesNamingTheDirAndThePid) {
  const std::string dir = NewTempDir();
  auto first = StartSandboxedServer(SandboxOptions(dir));
  ASSERT_THAT(first, IsOk());
  auto second = StartSandboxedServer(SandboxOptions(dir));
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(dir), HasSubstr(absl::StrCat("pid ", getpid())),
                                     HasSubstr("several replicas need a shared database"))));
  EXPECT_THAT(ErrorReason(second.status()), Optional(std::string("STATE_DIR_LOCKED")));
  // The lock goes with its server.
  first->server.reset();
  EXPECT_THAT(StartSandboxedServer(SandboxOptions(dir)), IsOk());
}

TEST(ServerStartup, SecondServerOnOnePortRefusesToStart) {
  auto first = StartSandboxedServer(SandboxOptions(NewTempDir()));
  ASSERT_THAT(first, IsOk());
  ServerOptions options = SandboxOptions(NewTempDir());
  options.port = (*first)->port();
  EXPECT_THAT(
      StartSandboxedServer(options),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr(absl::StrCat("127.0.0.1:", options.port)), HasSubstr("in use"))));
}

TEST(ServerStartup, SnapshotKeepNewestBelowTwoIsRefusedNamingTheFlag) {
  ServerOptions options = SandboxOptions(NewTempDir());
  options.snapshots.retention.keep_newest = 1;
  EXPECT_THAT(StartSandboxedServer(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("snapshot_keep_newest")));
  options.snapshots.retention.keep_newest = 3;
  EXPECT_THAT(StartSandboxedServer(options), IsOk());
}

TEST(ServerStartup, LostLedgerIsRefusedUnlessAcceptedExplicitly) {
  const std::string dir = NewTempDir();
  ASSERT_THAT(StartSandboxedServer(SandboxOptions(dir)), IsOk());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(dir + "/invitations.db" + suffix);
  }
  EXPECT_THAT(
      StartSandboxedServer(SandboxOptions(dir)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr(dir + "/invitations.db"), HasSubstr("people may be invited twice"),
                     HasSubstr("--accept_new_ledger"))));
  ServerOptions accepting = SandboxOptions(dir);
  accepting.accept_new_ledger = true;
  ASSERT_THAT(StartSandboxedServer(accepting), IsOk());
  EXPECT_THAT(StartSandboxedServer(SandboxOptions(dir)), IsOk());
}

}  // namespace
}  // namespace followgate
