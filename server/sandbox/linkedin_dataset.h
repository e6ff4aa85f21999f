// The sandbox's deterministic follow graph. Nothing is stored per follower:
// the follower at index i of a seeded page is computed from (page id, i), and
// a follower URN is mapped back to the seeded pages it follows by inverting
// that computation.
//
// Members: "urn:li:person:" + a 10-character id of [A-Za-z0-9_-] (consented
// members), except every 4th member (index % 4 == 3), whose id is obfuscated
// and 6 to 8 characters long. Ids are unique within a page. Obfuscated
// members cannot be looked up with the follower finder.
// Page followers: "urn:li:organizationalPage:{digits}", unique within a page.
// One extra organizational page (the "prolific follower", 2001 by default)
// follows a configurable number of generated pages, so the follower finder
// has several result pages for it.
// lastModifiedAt strictly decreases with the index (newest first).
//
// Immutable after Create(); thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_DATASET_H_
#define FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace followgate {
namespace sandbox {

// An organizational page the sandbox knows, with its two follower counts.
struct SeededPage {
  int64_t id = 0;
  int64_t member_followers = 0;
  int64_t page_followers = 0;
};

enum class EdgeType { kMemberFollowsPage, kPageFollowsPage };

// "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE" or
// "ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE".
absl::string_view EdgeTypeName(EdgeType type);
absl::optional<EdgeType> ParseEdgeType(absl::string_view name);

// The id in "urn:li:organizationalPage:{id}" (positive, no leading zeros),
// or nullopt.
absl::optional<int64_t> ParseOrganizationalPageUrn(absl::string_view urn);
std::string OrganizationalPageUrn(int64_t id);

// Whether `urn` is a well-formed person URN ("urn:li:person:" + 1..64
// characters of [A-Za-z0-9_-]).
bool IsPersonUrn(absl::string_view urn);

// Parses "id:members:pages[,id:members:pages...]" (the sandbox's --pages
// flag). InvalidArgument names the offending entry.
absl::StatusOr<std::vector<SeededPage>> ParseSeededPages(
    absl::string_view text);

struct FollowEdge {
  std::string follower;  // URN.
  int64_t followee_id = 0;
  EdgeType edge_type = EdgeType::kMemberFollowsPage;
  int64_t last_modified_ms = 0;
};

class FollowDataset {
 public:
  static constexpr int64_t kMaxMemberFollowers = 100000000;
  static constexpr int64_t kMaxPageFollowers = 10000000;
  static constexpr int64_t kMaxProlificFollowees = 1000000;

  // InvalidArgument for a non-positive or repeated page id, or a follower
  // count outside 0..kMax*.
  static absl::StatusOr<FollowDataset> Create(std::vector<SeededPage> pages,
                                              int64_t prolific_follower_id,
                                              int64_t prolific_followee_count);

  // The seeded page with this id, or nullptr.
  const SeededPage* FindPage(int64_t id) const;

  static int64_t FollowerCount(const SeededPage& page, EdgeType type);

  // The follower at `index` (0 <= index < FollowerCount(page, type)).
  static FollowEdge FollowerAt(const SeededPage& page, EdgeType type,
                               int64_t index);

  // Every edge whose follower is `follower_urn`, seeded pages first (in
  // seeding order). Empty for unknown or obfuscated followers.
  std::vector<FollowEdge> FolloweesOf(absl::string_view follower_urn) const;

 private:
  FollowDataset(std::vector<SeededPage> pages, int64_t prolific_follower_id,
                int64_t prolific_followee_count);

  std::vector<FollowEdge> FolloweesOfMember(absl::string_view member_id) const;
  std::vector<FollowEdge> FolloweesOfPage(int64_t page_id) const;

  std::vector<SeededPage> pages_;
  int64_t prolific_follower_id_;
  int64_t prolific_followee_count_;
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_DATASET_H_
