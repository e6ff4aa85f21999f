#include "server/urn.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/error_details.h"

namespace followgate {
namespace {

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsPersonIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("-_.~+/=").find(c) != absl::string_view::npos;
}

bool IsPersonId(absl::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!IsPersonIdChar(c)) return false;
  }
  return true;
}

bool IsOrganizationalPageUrn(absl::string_view urn) {
  return absl::StartsWith(urn, kOrganizationalPageUrnPrefix) &&
         AllDigits(urn.substr(kOrganizationalPageUrnPrefix.size()));
}

}  // namespace

absl::Status ValidateFolloweeUrn(absl::string_view field, absl::string_view urn) {
  if (urn.size() <= kMaxUrnLength && IsOrganizationalPageUrn(urn)) {
    return absl::OkStatus();
  }
  if (urn.empty()) {
    return InvalidField(field,
                        absl::StrCat(field, " is required: urn:li:organizationalPage:{digits}"));
  }
  return InvalidField(field, absl::StrCat(field,
                                          " must be urn:li:organizationalPage:{digits} (at most ",
                                          kMaxUrnLength, " characters), got ", QuoteForMessage(urn)));
}

absl::Status ValidateFollowerUrn(absl::string_view field, absl::string_view urn) {
  if (urn.size() <= kMaxUrnLength &&
      (IsOrganizationalPageUrn(urn) ||
       (absl::StartsWith(urn, kPersonUrnPrefix) &&
        IsPersonId(urn.substr(kPersonUrnPrefix.size()))))) {
    return absl::OkStatus();
  }
  if (urn.empty()) {
    return InvalidField(
        field, absl::StrCat(field, " is required: urn:li:person:{id} or "
                                   "urn:li:organizationalPage:{digits}"));
  }
  return InvalidField(field, absl::StrCat(field,
                                          " must be urn:li:person:{id} or "
                                          "urn:li:organizationalPage:{digits} (at most ",
                                          kMaxUrnLength, " characters), got ", QuoteForMessage(urn)));
}

FollowerClassifier::FollowerClassifier()
    : consented_(std::make_shared<const std::regex>(
          kDefaultConsentedMemberIdPattern, std::regex::ECMAScript)) {}

absl::StatusOr<FollowerClassifier> FollowerClassifier::Create(
    absl::string_view pattern) {
  if (pattern.empty()) return FollowerClassifier(nullptr);
  try {
    return FollowerClassifier(std::make_shared<const std::regex>(
        std::string(pattern), std::regex::ECMAScript));
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linkedin_consented_member_id_pattern is not a valid regular expression: ",
        e.what()));
  }
}

v1::FollowerKind FollowerClassifier::Classify(absl::string_view urn) const {
  if (absl::StartsWith(urn, kOrganizationalPageUrnPrefix)) {
    return v1::FOLLOWER_KIND_ORGANIZATIONAL_PAGE;
  }
  if (!absl::StartsWith(urn, kPersonUrnPrefix)) {
    return v1::FOLLOWER_KIND_UNSPECIFIED;
  }
  const absl::string_view id = urn.substr(kPersonUrnPrefix.size());
  if (consented_ == nullptr ||
      std::regex_match(id.begin(), id.end(), *consented_)) {
    return v1::FOLLOWER_KIND_MEMBER;
  }
  return v1::FOLLOWER_KIND_OBFUSCATED_MEMBER;
}

}  // namespace followgate
