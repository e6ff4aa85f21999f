#include "server/sandbox/linkedin_cursor.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace followgate {
namespace sandbox {
namespace {

// Base64 of these three bytes is "+/+/".
constexpr unsigned char kPrefix[] = {0xFB, 0xFF, 0xBF};
constexpr unsigned char kFormatVersion = 1;
constexpr size_t kPayloadSize = sizeof(kPrefix) + 1 + 8 + 8 + 4;
constexpr size_t kBlobSize = kPayloadSize + 4;  // 28: encodes with "==".
constexpr absl::string_view kChecksumKey = "followgate-sandbox-cursor";

void AppendBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint64_t ReadBigEndian(absl::string_view data, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(data[offset + i]);
  }
  return value;
}

uint32_t Checksum(absl::string_view payload) {
  return static_cast<uint32_t>(
      QueryFingerprint(absl::StrCat(kChecksumKey, payload)) >> 32);
}

}  // namespace

uint64_t QueryFingerprint(absl::string_view query_identity) {
  // FNV-1a, then a splitmix64 finaliser to spread the bits.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : query_identity) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  return hash ^ (hash >> 31);
}

std::string EncodeCursor(const CursorState& state) {
  std::string blob(reinterpret_cast<const char*>(kPrefix), sizeof(kPrefix));
  blob.push_back(static_cast<char>(kFormatVersion));
  AppendBigEndian(state.query_fingerprint, 8, &blob);
  AppendBigEndian(static_cast<uint64_t>(state.offset), 8, &blob);
  AppendBigEndian(static_cast<uint64_t>(state.page_number), 4, &blob);
  AppendBigEndian(Checksum(blob), 4, &blob);
  return absl::Base64Escape(blob);
}

absl::optional<CursorState> DecodeCursor(absl::string_view cursor) {
  std::string blob;
  if (!absl::Base64Unescape(cursor, &blob) || blob.size() != kBlobSize ||
      absl::Base64Escape(blob) != cursor) {
    return absl::nullopt;
  }
  const absl::string_view view = blob;
  if (view.substr(0, sizeof(kPrefix)) !=
          absl::string_view(reinterpret_cast<const char*>(kPrefix),
                            sizeof(kPrefix)) ||
      static_cast<unsigned char>(view[sizeof(kPrefix)]) != kFormatVersion ||
      ReadBigEndian(view, kPayloadSize, 4) !=
          Checksum(view.substr(0, kPayloadSize))) {
    return absl::nullopt;
  }
  CursorState state;
  size_t offset = sizeof(kPrefix) + 1;
  state.query_fingerprint = ReadBigEndian(view, offset, 8);
  state.offset = static_cast<int64_t>(ReadBigEndian(view, offset + 8, 8));
  state.page_number = static_cast<int64_t>(ReadBigEndian(view, offset + 16, 4));
  if (state.offset < 0 || state.page_number < 1) return absl::nullopt;
  return state;
}

}  // namespace sandbox
}  // namespace followgate
