#include "server/sandbox/linkedin_dataset.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace followgate {
namespace sandbox {
namespace {

constexpr absl::string_view kPagePrefix = "urn:li:organizationalPage:";
constexpr absl::string_view kPersonPrefix = "urn:li:person:";
constexpr absl::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Member ids pack (page hash, index) into 6 bits per character; the index
// takes the low 28 bits (kMaxMemberFollowers < 2^28).
constexpr int kMemberIndexBits = 28;
constexpr int kConsentedIdChars = 10;
// Page-follower ids pack (page hash, index) into 44 bits above this base;
// the index takes the low 24 bits (kMaxPageFollowers < 2^24).
constexpr int kPageIndexBits = 24;
constexpr int kPageFollowerBits = 44;
constexpr int64_t kPageFollowerIdBase = 100000000;
// The prolific follower follows pages kProlificFolloweeBase + k.
constexpr int64_t kProlificFolloweeBase = 900000000;
// 2025-01-01T00:00:00Z; edges get older by 10 to 20 seconds per index.
constexpr int64_t kNewestEdgeMs = 1735689600000;
constexpr int64_t kEdgeSpacingMs = 10000;

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t PageHash(int64_t page_id) {
  return Mix64(static_cast<uint64_t>(page_id) ^ 0x5a17d00dULL);
}

uint64_t LowBits(uint64_t value, int bits) {
  return bits >= 64 ? value : value & ((uint64_t{1} << bits) - 1);
}

// A keyed Feistel network: a bijection on `bits`-bit values (bits even).
constexpr int kFeistelRounds = 4;

uint64_t FeistelRound(uint64_t half, int round, int bits, uint64_t mask) {
  return Mix64(half ^ (static_cast<uint64_t>(round) << 56) ^
               static_cast<uint64_t>(bits)) &
         mask;
}

uint64_t Permute(uint64_t value, int bits) {
  const int half_bits = bits / 2;
  const uint64_t mask = LowBits(~uint64_t{0}, half_bits);
  uint64_t left = value >> half_bits;
  uint64_t right = value & mask;
  for (int round = 0; round < kFeistelRounds; ++round) {
    const uint64_t next = left ^ FeistelRound(right, round, bits, mask);
    left = right;
    right = next;
  }
  return (left << half_bits) | right;
}

uint64_t Unpermute(uint64_t value, int bits) {
  const int half_bits = bits / 2;
  const uint64_t mask = LowBits(~uint64_t{0}, half_bits);
  uint64_t left = value >> half_bits;
  uint64_t right = value & mask;
  for (int round = kFeistelRounds - 1; round >= 0; --round) {
    const uint64_t previous = right ^ FeistelRound(left, round, bits, mask);
    right = left;
    left = previous;
  }
  return (left << half_bits) | right;
}

std::string EncodeId(uint64_t value, int chars) {
  std::string id(static_cast<size_t>(chars), 'A');
  for (int i = chars - 1; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kIdAlphabet[value & 63];
    value >>= 6;
  }
  return id;
}

absl::optional<uint64_t> DecodeId(absl::string_view id) {
  uint64_t value = 0;
  for (char c : id) {
    const size_t digit = kIdAlphabet.find(c);
    if (digit == absl::string_view::npos) return absl::nullopt;
    value = (value << 6) | digit;
  }
  return value;
}

bool IsObfuscatedIndex(int64_t index) { return index % 4 == 3; }

// Packs the top bits of the page hash above an index of `index_bits`.
uint64_t PackIndex(int64_t page_id, int64_t index, int total_bits,
                   int index_bits) {
  const int hash_bits = total_bits - index_bits;
  return ((PageHash(page_id) >> (64 - hash_bits)) << index_bits) |
         static_cast<uint64_t>(index);
}

std::string MemberId(int64_t page_id, int64_t index) {
  if (IsObfuscatedIndex(index)) {
    const int chars = 6 + static_cast<int>((index / 4) % 3);
    return EncodeId(
        Permute(PackIndex(page_id, index, 6 * chars, kMemberIndexBits),
                6 * chars),
        chars);
  }
  const int bits = 6 * kConsentedIdChars;
  return EncodeId(
      Permute(PackIndex(page_id, index, bits, kMemberIndexBits), bits),
      kConsentedIdChars);
}

int64_t PageFollowerId(int64_t page_id, int64_t index) {
  return kPageFollowerIdBase +
         static_cast<int64_t>(Permute(
             PackIndex(page_id, index, kPageFollowerBits, kPageIndexBits),
             kPageFollowerBits));
}

int64_t LastModifiedMs(int64_t page_id, EdgeType type, int64_t index) {
  const uint64_t jitter =
      Mix64(PageHash(page_id) ^ static_cast<uint64_t>(index) ^
            (type == EdgeType::kMemberFollowsPage ? 0 : 0xabcdefULL)) %
      kEdgeSpacingMs;
  return kNewestEdgeMs - index * kEdgeSpacingMs - static_cast<int64_t>(jitter);
}

absl::StatusOr<SeededPage> ParseSeededPage(absl::string_view entry) {
  const std::vector<absl::string_view> fields = absl::StrSplit(entry, ':');
  SeededPage page;
  if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &page.id) ||
      !absl::SimpleAtoi(fields[1], &page.member_followers) ||
      !absl::SimpleAtoi(fields[2], &page.page_followers)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page entry '", entry, "' must be id:member_followers:page_followers"));
  }
  return page;
}

}  // namespace

absl::string_view EdgeTypeName(EdgeType type) {
  return type == EdgeType::kMemberFollowsPage
             ? "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE"
             : "ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE";
}

absl::optional<EdgeType> ParseEdgeType(absl::string_view name) {
  for (EdgeType type :
       {EdgeType::kMemberFollowsPage, EdgeType::kPageFollowsPage}) {
    if (name == EdgeTypeName(type)) return type;
  }
  return absl::nullopt;
}

absl::optional<int64_t> ParseOrganizationalPageUrn(absl::string_view urn) {
  if (!absl::ConsumePrefix(&urn, kPagePrefix) || urn.empty() ||
      urn.size() > 18 || urn[0] == '0') {
    return absl::nullopt;
  }
  int64_t id = 0;
  for (char c : urn) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::nullopt;
    }
    id = id * 10 + (c - '0');
  }
  return id;
}

std::string OrganizationalPageUrn(int64_t id) {
  return absl::StrCat(kPagePrefix, id);
}

bool IsPersonUrn(absl::string_view urn) {
  if (!absl::ConsumePrefix(&urn, kPersonPrefix) || urn.empty() ||
      urn.size() > 64) {
    return false;
  }
  for (char c : urn) {
    if (kIdAlphabet.find(c) == absl::string_view::npos) return false;
  }
  return true;
}

absl::StatusOr<std::vector<SeededPage>> ParseSeededPages(
    absl::string_view text) {
  std::vector<SeededPage> pages;
  for (absl::string_view entry :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::StatusOr<SeededPage> page =
        ParseSeededPage(absl::StripAsciiWhitespace(entry));
    if (!page.ok()) return page.status();
    pages.push_back(*page);
  }
  return pages;
}

absl::StatusOr<FollowDataset> FollowDataset::Create(
    std::vector<SeededPage> pages, int64_t prolific_follower_id,
    int64_t prolific_followee_count) {
  std::set<int64_t> ids;
  for (const SeededPage& page : pages) {
    if (page.id <= 0 || !ids.insert(page.id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "seeded page ids must be positive and distinct, got ", page.id));
    }
    if (page.member_followers < 0 ||
        page.member_followers > kMaxMemberFollowers ||
        page.page_followers < 0 || page.page_followers > kMaxPageFollowers) {
      return absl::InvalidArgumentError(
          absl::StrCat("page ", page.id, ": member followers must be in 0..",
                       kMaxMemberFollowers, " and page followers in 0..",
                       kMaxPageFollowers));
    }
  }
  if (prolific_follower_id <= 0 || prolific_followee_count < 0 ||
      prolific_followee_count > kMaxProlificFollowees) {
    return absl::InvalidArgumentError(
        absl::StrCat("the prolific follower needs a positive id and 0..",
                     kMaxProlificFollowees, " followees"));
  }
  return FollowDataset(std::move(pages), prolific_follower_id,
                       prolific_followee_count);
}

FollowDataset::FollowDataset(std::vector<SeededPage> pages,
                             int64_t prolific_follower_id,
                             int64_t prolific_followee_count)
    : pages_(std::move(pages)),
      prolific_follower_id_(prolific_follower_id),
      prolific_followee_count_(prolific_followee_count) {}

const SeededPage* FollowDataset::FindPage(int64_t id) const {
  for (const SeededPage& page : pages_) {
    if (page.id == id) return &page;
  }
  return nullptr;
}

int64_t FollowDataset::FollowerCount(const SeededPage& page, EdgeType type) {
  return type == EdgeType::kMemberFollowsPage ? page.member_followers
                                              : page.page_followers;
}

FollowEdge FollowDataset::FollowerAt(const SeededPage& page, EdgeType type,
                                     int64_t index) {
  FollowEdge edge;
  edge.follower = type == EdgeType::kMemberFollowsPage
                      ? absl::StrCat(kPersonPrefix, MemberId(page.id, index))
                      : OrganizationalPageUrn(PageFollowerId(page.id, index));
  edge.followee_id = page.id;
  edge.edge_type = type;
  edge.last_modified_ms = LastModifiedMs(page.id, type, index);
  return edge;
}

std::vector<FollowEdge> FollowDataset::FolloweesOf(
    absl::string_view follower_urn) const {
  if (absl::optional<int64_t> page_id =
          ParseOrganizationalPageUrn(follower_urn)) {
    return FolloweesOfPage(*page_id);
  }
  if (IsPersonUrn(follower_urn)) {
    return FolloweesOfMember(follower_urn.substr(kPersonPrefix.size()));
  }
  return {};
}

std::vector<FollowEdge> FollowDataset::FolloweesOfMember(
    absl::string_view member_id) const {
  std::vector<FollowEdge> edges;
  if (member_id.size() != kConsentedIdChars) return edges;
  const absl::optional<uint64_t> value = DecodeId(member_id);
  if (!value.has_value()) return edges;
  const int bits = 6 * kConsentedIdChars;
  const uint64_t packed = Unpermute(*value, bits);
  const auto index = static_cast<int64_t>(LowBits(packed, kMemberIndexBits));
  for (const SeededPage& page : pages_) {
    if (index < page.member_followers && !IsObfuscatedIndex(index) &&
        PackIndex(page.id, index, bits, kMemberIndexBits) == packed) {
      edges.push_back(FollowerAt(page, EdgeType::kMemberFollowsPage, index));
    }
  }
  return edges;
}

std::vector<FollowEdge> FollowDataset::FolloweesOfPage(int64_t page_id) const {
  std::vector<FollowEdge> edges;
  const std::string follower = OrganizationalPageUrn(page_id);
  const uint64_t offset = static_cast<uint64_t>(page_id - kPageFollowerIdBase);
  if (page_id >= kPageFollowerIdBase && (offset >> kPageFollowerBits) == 0) {
    const uint64_t packed = Unpermute(offset, kPageFollowerBits);
    const auto index = static_cast<int64_t>(LowBits(packed, kPageIndexBits));
    for (const SeededPage& page : pages_) {
      if (index < page.page_followers &&
          PackIndex(page.id, index, kPageFollowerBits, kPageIndexBits) ==
              packed) {
        edges.push_back(FollowerAt(page, EdgeType::kPageFollowsPage, index));
      }
    }
  }
  if (page_id == prolific_follower_id_) {
    for (int64_t k = 0; k < prolific_followee_count_; ++k) {
      FollowEdge edge;
      edge.follower = follower;
      edge.followee_id = kProlificFolloweeBase + k;
      edge.edge_type = EdgeType::kPageFollowsPage;
      edge.last_modified_ms = LastModifiedMs(page_id, edge.edge_type, k);
      edges.push_back(std::move(edge));
    }
  }
  return edges;
}

}  // namespace sandbox
}  // namespace followgate
