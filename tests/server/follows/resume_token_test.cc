// Resume tokens: signed, bounded, the deprecated fg1 format, the key file.
#include "server/follows/resume_token.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

ResumeTokenCodec Codec(char fill = 'k') {
  return ResumeTokenCodec(std::string(ResumeTokenCodec::kKeyBytes, fill));
}

ResumePoint Point() {
  ResumePoint p;
  p.query_fingerprint = 0x0123456789abcdefULL;
  p.sequence_index = 1;
  p.snapshot_id = 77;
  p.page = 12;
  p.edge_offset = 345;
  p.stream_sequence = 20;
  return p;
}

// A token of the previous release's format: anyone can make one.
std::string LegacyTokenOf(const std::string& body) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(body, ".", absl::Hex(hash & 0xffffffff)), &token);
  return token;
}

std::string LegacyToken(const ResumePoint& p) {
  return LegacyTokenOf(absl::StrCat("fg1.", absl::Hex(p.query_fingerprint), ".",
                                    p.sequence_index, ".", p.snapshot_id, ".", p.page, ".",
                                    p.edge_offset, ".", p.stream_sequence));
}

std::string Unescaped(const std::string& token) {
  std::string text;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(token, &text));
  return text;
}

std::string Escaped(const std::string& text) {
  std::string token;
  absl::WebSafeBase64Escape(text, &token);
  return token;
}

void ExpectSamePoint(const ResumePoint& a, const ResumePoint& b) {
  EXPECT_EQ(a.query_fingerprint, b.query_fingerprint);
  EXPECT_EQ(a.sequence_index, b.sequence_index);
  EXPECT_EQ(a.snapshot_id, b.snapshot_id);
  EXPECT_EQ(a.page, b.page);
  EXPECT_EQ(a.edge_offset, b.edge_offset);
  EXPECT_EQ(a.stream_sequence, b.stream_sequence);
}

TEST(ResumeTokenCodec, RoundTripsEveryFieldInTheSignedFormat) {
  const ResumeTokenCodec codec = Codec();
  const std::string token = codec.Encode(Point());
  EXPECT_THAT(Unescaped(token), ::testing::StartsWith("fg2."));
  auto decoded = codec.Decode("resume_token", token);
  ASSERT_THAT(decoded.status(), IsOk());
  ExpectSamePoint(*decoded, Point());
}

TEST(ResumeTokenCodec, RefusesATokenWhosePlaceWasAlteredUnderItsMac) {
  const ResumeTokenCodec codec = Codec();
  const std::string text = Unescaped(codec.Encode(Point()));
  // Page 12 becomes page 13; the MAC stays.
  const std::string forged = absl::StrReplaceAll(text, {{".77.12.", ".77.13."}});
  ASSERT_NE(forged, text);
  EXPECT_THAT(codec.Decode("resume_token", Escaped(forged)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("resume_token is not a token this service issued")));
}

TEST(ResumeTokenCodec, RefusesAMadeUpMac) {
  const ResumeTokenCodec codec = Codec();
  std::string text = Unescaped(codec.Encode(Point()));
  text.back() = text.back() == '0' ? '1' : '0';
  EXPECT_THAT(codec.Decode("page_token", Escaped(text)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token is not a token this service issued")));
  const std::string body = text.substr(0, text.rfind('.'));
  EXPECT_THAT(codec.Decode("page_token", Escaped(body)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a token")));
}

TEST(ResumeTokenCodec, RefusesATokenSignedWithAnotherKey) {
  const std::string token = Codec('a').Encode(Point());
  EXPECT_THAT(Codec('b').Decode("resume_token", token),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("from a server with another key")));
}

TEST(ResumeTokenCodec, StillAcceptsTheDeprecatedFg1Format) {
  auto decoded = Codec().Decode("resume_token", LegacyToken(Point()));
  ASSERT_THAT(decoded.status(), IsOk());
  ExpectSamePoint(*decoded, Point());
  std::string damaged = Unescaped(LegacyToken(Point()));
  damaged.back() = damaged.back() == '0' ? '1' : '0';
  EXPECT_THAT(Codec().Decode("resume_token", Escaped(damaged)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a token")));
}

// Every number at its largest accepted value, then one beyond, in both
// formats (fg2 tokens are signed here by the test's own key).
TEST(ResumeTokenCodec, AcceptsEveryNumberUpToItsBoundAndRefusesBeyond) {
  const ResumeTokenCodec codec = Codec();
  struct Bound {
    const char* name;
    void (*at)(ResumePoint&);
    void (*beyond)(ResumePoint&);
  };
  const std::vector<Bound> bounds = {
      {"sequence_index", [](ResumePoint& p) { p.sequence_index = kMaxTokenSequences - 1; },
       [](ResumePoint& p) { p.sequence_index = kMaxTokenSequences; }},
      {"sequence_index<0", [](ResumePoint& p) { p.sequence_index = 0; },
       [](ResumePoint& p) { p.sequence_index = -1; }},
      {"snapshot_id", [](ResumePoint& p) { p.snapshot_id = kInt64Max; },
       [](ResumePoint& p) { p.snapshot_id = 0; }},
      {"snapshot_id<0", [](ResumePoint& p) { p.snapshot_id = 1; },
       [](ResumePoint& p) { p.snapshot_id = -5; }},
      {"page", [](ResumePoint& p) { p.page = kMaxTokenPage; },
       [](ResumePoint& p) { p.page = kMaxTokenPage + 1; }},
      {"page<0", [](ResumePoint& p) { p.page = 0; }, [](ResumePoint& p) { p.page = -1; }},
      {"edge_offset", [](ResumePoint& p) { p.edge_offset = kMaxTokenEdgeOffset; },
       [](ResumePoint& p) { p.edge_offset = kMaxTokenEdgeOffset + 1; }},
      {"edge_offset<0", [](ResumePoint& p) { p.edge_offset = 0; },
       [](ResumePoint& p) { p.edge_offset = -1; }},
      {"stream_sequence", [](ResumePoint& p) { p.stream_sequence = kMaxTokenStreamSequence; },
       [](ResumePoint& p) { p.stream_sequence = kMaxTokenStreamSequence + 1; }},
      {"stream_sequence<0", [](ResumePoint& p) { p.stream_sequence = 0; },
       [](ResumePoint& p) { p.stream_sequence = -1; }},
  };
  for (const Bound& bound : bounds) {
    ResumePoint at = Point();
    bound.at(at);
    ResumePoint beyond = Point();
    bound.beyond(beyond);
    EXPECT_THAT(codec.Decode("resume_token", codec.Encode(at)).status(), IsOk()) << bound.name;
    EXPECT_THAT(codec.Decode("resume_token", LegacyToken(at)).status(), IsOk()) << bound.name;
    EXPECT_THAT(codec.Decode("resume_token", codec.Encode(beyond)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")))
        << bound.name;
    EXPECT_THAT(codec.Decode("resume_token", LegacyToken(beyond)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")))
        << bound.name;
  }
}

TEST(ResumeTokenCodec, RefusesTheLargestIntegersOfAForgedLegacyToken) {
  ResumePoint huge = Point();
  huge.stream_sequence = kInt64Max;
  EXPECT_THAT(Codec().Decode("resume_token", LegacyToken(huge)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  huge = Point();
  huge.page = kInt64Max;
  EXPECT_THAT(Codec().Decode("resume_token", LegacyToken(huge)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  // Beyond int64 altogether.
  EXPECT_THAT(Codec().Decode("resume_token", LegacyTokenOf("fg1.1.0.77.99999999999999999999.0.0")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST(ResumeTokenCodec, RefusesLongAndNonBase64Tokens) {
  EXPECT_THAT(Codec().Decode("resume_token", std::string(513, 'A')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a token")));
  EXPECT_THAT(Codec().Decode("resume_token", "@@@"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a token")));
}

class ResumeTokenKeyFileTest : public ::testing::Test {
 protected:
  ResumeTokenKeyFileTest()
      : path_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                           ".key")) {
    std::remove(path_.c_str());
  }
  const std::string path_;
};

TEST_F(ResumeTokenKeyFileTest, IsMadeOnceWithMode0600AndKeptAfterwards) {
  auto first = ResumeTokenCodec::FromKeyFile(path_);
  ASSERT_THAT(first.status(), IsOk());
  struct stat info;
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, static_cast<off_t>(ResumeTokenCodec::kKeyBytes));
  auto again = ResumeTokenCodec::FromKeyFile(path_);
  ASSERT_THAT(again.status(), IsOk());
  const std::string token = first->Encode(Point());
  EXPECT_EQ(again->Encode(Point()), token);
  ASSERT_THAT(again->Decode("resume_token", token).status(), IsOk());
  // A random key is another key.
  auto random = ResumeTokenCodec::WithRandomKey();
  ASSERT_THAT(random.status(), IsOk());
  EXPECT_THAT(random->Decode("resume_token", token),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("another key")));
}

TEST_F(ResumeTokenKeyFileTest, ConcurrentStartsAllReadTheSameKey) {
  constexpr int kStarts = 8;
  std::vector<std::string> tokens(kStarts);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStarts; ++i) {
    threads.emplace_back([this, i, &tokens] {
      auto codec = ResumeTokenCodec::FromKeyFile(path_);
      if (codec.ok()) tokens[i] = codec->Encode(Point());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), 1u);
  EXPECT_FALSE(tokens[0].empty());
}

TEST_F(ResumeTokenKeyFileTest, RefusesADamagedOrWorldReadableKey) {
  { std::ofstream(path_) << "short"; }
  chmod(path_.c_str(), 0600);
  EXPECT_THAT(ResumeTokenCodec::FromKeyFile(path_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("holds 5 bytes instead of 32")));
  { std::ofstream(path_) << std::string(ResumeTokenCodec::kKeyBytes, 'x'); }
  chmod(path_.c_str(), 0644);
  EXPECT_THAT(ResumeTokenCodec::FromKeyFile(path_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("chmod 600")));
}

}  // namespace
}  // namespace followgate
