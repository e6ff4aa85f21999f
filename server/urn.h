// LinkedIn URNs that the follows API accepts, and what kind each names.
#ifndef FOLLOWGATE_SERVER_URN_H_
#define FOLLOWGATE_SERVER_URN_H_

#include <memory>
#include <regex>
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

// OK if `urn` is `urn:li:organizationalPage:{digits}`; otherwise
// INVALID_ARGUMENT naming `field` and the expected form.
absl::Status ValidateFolloweeUrn(absl::string_view field, absl::string_view urn);

// OK if `urn` is `urn:li:person:{id}` ({id}: 1 or more of A-Z a-z 0-9 and
// `-_.~+/=`) or `urn:li:organizationalPage:{digits}`; otherwise
// INVALID_ARGUMENT naming `field` and the expected forms.
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

  // Anything that is neither a person nor a page URN is UNSPECIFIED.
  v1::FollowerKind Classify(absl::string_view urn) const;

 private:
  explicit FollowerClassifier(std::shared_ptr<const std::regex> consented)
      : consented_(std::move(consented)) {}
  std::shared_ptr<const std::regex> consented_;  // Null: all consented.
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_URN_H_
