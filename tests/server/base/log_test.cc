// LogEvent: one JSON line per event, every key and string value redacted.
#include "server/base/log.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/base/redaction.h"
#include "tests/testing/stderr_capture.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "log-line-secret-6b0e";

TEST(LogEvent, RedactsEveryKeyAndStringValue) {
  RegisterSecret(kSecret);
  testing::StderrCapture capture;
  LogEvent("WARNING", "rpc",
           {{"message", absl::StrCat("upstream said bad token Bearer ", kSecret)},
            {absl::StrCat("key-", kSecret), "value"},
            {"count", int64_t{3}},
            {"ok", true}});
  LogError(absl::StrCat("failed with ", kSecret));
  const std::string lines = capture.Stop();
  EXPECT_THAT(lines, Not(HasSubstr(kSecret)));
  const size_t newline = lines.find('\n');
  ASSERT_NE(newline, std::string::npos);
  const nlohmann::json first = nlohmann::json::parse(lines.substr(0, newline));
  EXPECT_EQ(first["event"], "rpc");
  EXPECT_EQ(first["message"], "upstream said bad token Bearer [REDACTED]");
  EXPECT_EQ(first["key-[REDACTED]"], "value");
  EXPECT_EQ(first["count"], 3);
  EXPECT_EQ(first["ok"], true);
  EXPECT_THAT(lines.substr(newline + 1), HasSubstr("\"msg\":\"failed with [REDACTED]\""));
}

}  // namespace
}  // namespace followgate
