#include "client/checkpoint.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace followgate::cli {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(Checkpoint, AbsentFileIsTheBeginning) {
  auto checkpoint = ReadCheckpoint(TempPath("absent"));
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->token, "");
  EXPECT_FALSE(checkpoint->finished);
}

TEST(Checkpoint, RecordsWhetherTheStreamFinished) {
  const std::string path = TempPath("checkpoint");
  ASSERT_TRUE(WriteCheckpoint(path, Checkpoint{"fg2.under-way", false}).ok());
  auto under_way = ReadCheckpoint(path);
  ASSERT_TRUE(under_way.ok());
  EXPECT_EQ(under_way->token, "fg2.under-way");
  EXPECT_FALSE(under_way->finished);
  ASSERT_TRUE(WriteCheckpoint(path, Checkpoint{"fg2.last", true}).ok());
  auto finished = ReadCheckpoint(path);
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->token, "fg2.last");
  EXPECT_TRUE(finished->finished);
}

TEST(Checkpoint, ReadsTheOneLineFilesOfEarlierReleases) {
  const std::string path = TempPath("old_checkpoint");
  std::ofstream(path) << "fg2.old\n";
  auto checkpoint = ReadCheckpoint(path);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->token, "fg2.old");
  EXPECT_FALSE(checkpoint->finished);
}

}  // namespace
}  // namespace followgate::cli
