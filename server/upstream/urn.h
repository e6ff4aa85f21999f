// LinkedIn URNs that the follows API accepts, and what kind each names.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_URN_H_
#define FOLLOWGATE_SERVER_UPSTREAM_URN_H_

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "followgate/v1/follows.pb.h"

namespace followgate {

inline constexpr absl::string_view kPersonUrnPrefix = "urn:li:person:";
inline constexpr absl::string_view kOrganizationalPageUrnPrefix =
    "urn:li:organizationalPage:";
// LinkedIn caps URNs at 255 characters.
inline constexpr size_t kMaxUrnLength = 255;
// So a person id has at most this many.
inline constexpr size_t kMaxPersonIdLength = kMaxUrnLength - kPersonUrnPrefix.size();

// The canonical form of a positive decimal id (a page or company id): no
// leading zeros, 1 to 2^63-1. nullopt for anything else (empty, a sign,
// another character, 0, beyond int64).
std::optional<std::string> CanonicalNumericId(absl::string_view digits);

// The canonical form of a followee `urn:li:organizationalPage:{digits}`:
// {digits} is a page id from 1 to 2^63-1 (LinkedIn's ids are 64-bit), with
// leading zeros stripped, so that `...:0777` is `...:777` everywhere
// downstream. INVALID_ARGUMENT naming `field` and the rule otherwise (0, an
// id beyond 2^63-1, anything else, or more than kMaxUrnLength characters).
absl::StatusOr<std::string> CanonicalFolloweeUrn(absl::string_view field, absl::string_view urn);

// The canonical form of a follower: a page as CanonicalFolloweeUrn, or
// `urn:li:person:{id}` unchanged, {id} being 1 or more characters of
// LinkedIn's id alphabets: A-Z a-z 0-9 `-` `_` (application-scoped ids),
// plus `+` `/` and up to two trailing `=` (base64, as obfuscated ids may
// be). Nothing else (no `.`, `:` or spaces), and at most kMaxUrnLength
// characters in all. INVALID_ARGUMENT naming `field` and the rule otherwise.
absl::StatusOr<std::string> CanonicalFollowerUrn(absl::string_view field, absl::string_view urn);

// OK when CanonicalFolloweeUrn / CanonicalFollowerUrn accepts `urn`.
absl::Status ValidateFolloweeUrn(absl::string_view field, absl::string_view urn);
absl::Status ValidateFollowerUrn(absl::string_view field, absl::string_view urn);

// Tells what a follower URN returned by LinkedIn names. LinkedIn marks an
// obfuscated member nowhere but in the id itself, so a member counts as
// consented when its id matches a pattern: by default the shape of LinkedIn's
// application-scoped person ids, exactly 10 characters of A-Z a-z 0-9 `-` `_`
// (e.g. `-f_Ut43FoQ`); any other member id is taken as obfuscated. The
// pattern is configurable (--linkedin_consented_member_id_pattern) because
// this is an inference, not a documented rule. Copyable; thread-safe.
class FollowerClassifier {
 public:
  static constexpr char kDefaultConsentedMemberIdPattern[] = "[A-Za-z0-9_-]{10}";

  // Uses the default pattern.
  FollowerClassifier();
  // An ECMAScript regular expression that a whole consented member id
  // matches; "" takes every member as consented. INVALID_ARGUMENT for a
  // pattern that does not compile.
  static absl::StatusOr<FollowerClassifier> Create(absl::string_view pattern);

  // Anything that is neither a person nor a page URN is UNSPECIFIED. A
  // member id longer than kMaxPersonIdLength is never matched against the
  // pattern (a regular expression over an unbounded id can exhaust the
  // stack): it is OBFUSCATED_MEMBER, unless every member is consented.
  v1::FollowerKind Classify(absl::string_view urn) const;

 private:
  explicit FollowerClassifier(std::shared_ptr<const std::regex> consented)
      : consented_(std::move(consented)) {}
  std::shared_ptr<const std::regex> consented_;  // Null: all consented.
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_URN_H_
