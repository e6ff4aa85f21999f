#include "server/base/secret_source.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "tests/testing/stderr_capture.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kCheck = absl::Seconds(1);

class SecretSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::string(std::getenv("TEST_TMPDIR")) + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    Replace("token-one");
    auto source = SecretSource::Open(path_, "FOLLOWGATE_TEST_UNSET_VAR", &clock_, kCheck);
    ASSERT_THAT(source, IsOk());
    source_ = *source;
  }

  // Replaces the file as a platform rotates a mounted secret: a new file
  // renamed over the old one.
  void Replace(const std::string& contents) {
    const std::string next = path_ + ".next";
    std::ofstream(next) << contents << "\n";
    ASSERT_EQ(std::rename(next.c_str(), path_.c_str()), 0);
  }

  std::string path_;
  FakeClock clock_;
  std::shared_ptr<SecretSource> source_;
};

TEST_F(SecretSourceTest, AReplacedFileIsUsedOnceTheCheckIntervalHasPassed) {
  EXPECT_EQ(source_->Current().secret, "token-one");
  Replace("token-two");
  EXPECT_EQ(source_->Current().secret, "token-one");  // Not checked again yet.
  clock_.Advance(kCheck);
  const SecretSource::Value now = source_->Current();
  EXPECT_EQ(now.secret, "token-two");
  EXPECT_EQ(now.generation, 1);
}

TEST_F(SecretSourceTest, RereadAfterRejectionReadsAtOnceAndSaysWhetherTheSecretChanged) {
  const int64_t used = source_->Current().generation;
  EXPECT_FALSE(source_->RereadAfterRejection(used));  // Same file: nothing to retry with.
  Replace("token-two");
  EXPECT_TRUE(source_->RereadAfterRejection(used));
  EXPECT_EQ(source_->Current().secret, "token-two");
}

TEST_F(SecretSourceTest, AFileRewrittenWithTheSameSecretKeepsItsGeneration) {
  Replace("token-one");
  clock_.Advance(kCheck);
  EXPECT_EQ(source_->Current().generation, 0);
}

TEST_F(SecretSourceTest, ABrokenReplacementKeepsTheSecretInUseAndLogsTheFileNotTheSecret) {
  ::followgate::testing::StderrCapture log;
  Replace("");
  EXPECT_THAT(source_->Reload(), Not(IsOk()));
  EXPECT_EQ(source_->Current().secret, "token-one");
  std::remove(path_.c_str());
  clock_.Advance(kCheck);
  EXPECT_EQ(source_->Current().secret, "token-one");
  const std::string lines = log.Stop();
  EXPECT_THAT(lines, HasSubstr(path_));
  EXPECT_THAT(lines, HasSubstr("kept the secret in use"));
  EXPECT_THAT(lines, Not(HasSubstr("token-one")));
}

TEST_F(SecretSourceTest, ReloadReadsAtOnce) {
  Replace("token-two");
  EXPECT_THAT(source_->Reload(), IsOk());
  EXPECT_EQ(source_->Current().secret, "token-two");
}

TEST(FixedSecretSource, NeverChanges) {
  auto source = SecretSource::Fixed("fixed");
  EXPECT_FALSE(source->RereadAfterRejection(0));
  EXPECT_THAT(source->Reload(), IsOk());
  EXPECT_EQ(source->Current().secret, "fixed");
}

}  // namespace
}  // namespace followgate
