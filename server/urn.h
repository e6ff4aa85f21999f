// LinkedIn URNs that the follows API accepts, and what kind each names.
#ifndef FOLLOWGATE_SERVER_URN_H_
#define FOLLOWGATE_SERVER_URN_H_

#include "absl/status/status.h"
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

// What a follower URN returned by LinkedIn names. A member is consented when
// its id has the shape of LinkedIn's application-scoped person ids: exactly
// 10 characters of A-Z a-z 0-9 `-` `_` (e.g. `-f_Ut43FoQ`). LinkedIn marks
// obfuscation nowhere else, so any other member id is taken as obfuscated.
// Anything that is neither a person nor a page URN is UNSPECIFIED.
v1::FollowerKind ClassifyFollower(absl::string_view urn);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_URN_H_
