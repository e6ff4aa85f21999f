#include "server/resume_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/error_details.h"

namespace followgate {
namespace {

constexpr absl::string_view kVersion = "fg1";

uint64_t Fnv1a(absl::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

uint64_t QueryFingerprint(absl::string_view description) { return Fnv1a(description); }

std::string EncodeResumeToken(const ResumePoint& p) {
  const std::string body =
      absl::StrCat(kVersion, ".", absl::Hex(p.query_fingerprint), ".", p.sequence_index, ".",
                   p.snapshot_id, ".", p.page, ".", p.edge_offset, ".", p.stream_sequence);
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(body, ".", absl::Hex(Fnv1a(body) & 0xffffffff)),
                            &token);
  return token;
}

absl::StatusOr<ResumePoint> DecodeResumeToken(absl::string_view field,
                                              absl::string_view token) {
  const absl::Status invalid = InvalidField(
      field, absl::StrCat(field, " is not a token this service issued (damaged or made up)"));
  std::string text;
  if (token.size() > 512 || !absl::WebSafeBase64Unescape(token, &text)) return invalid;
  const size_t last_dot = text.rfind('.');
  if (last_dot == std::string::npos) return invalid;
  const absl::string_view body = absl::string_view(text).substr(0, last_dot);
  uint64_t check = 0;
  if (!absl::SimpleHexAtoi(absl::string_view(text).substr(last_dot + 1), &check) ||
      check != (Fnv1a(body) & 0xffffffff)) {
    return invalid;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(body, '.');
  ResumePoint p;
  if (parts.size() != 7 || parts[0] != kVersion ||
      !absl::SimpleHexAtoi(parts[1], &p.query_fingerprint) ||
      !absl::SimpleAtoi(parts[2], &p.sequence_index) ||
      !absl::SimpleAtoi(parts[3], &p.snapshot_id) || !absl::SimpleAtoi(parts[4], &p.page) ||
      !absl::SimpleAtoi(parts[5], &p.edge_offset) ||
      !absl::SimpleAtoi(parts[6], &p.stream_sequence) || p.sequence_index < 0 ||
      p.page < 0 || p.edge_offset < 0 || p.stream_sequence < 0) {
    return invalid;
  }
  return p;
}

}  // namespace followgate
