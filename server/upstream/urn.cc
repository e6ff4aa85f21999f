#include "server/upstream/urn.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/base/error_details.h"

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
         absl::string_view("-_+/").find(c) != absl::string_view::npos;
}

// Base64 padding: up to two `=` at the end only.
bool IsPersonId(absl::string_view id) {
  for (int padding = 0; padding < 2 && absl::ConsumeSuffix(&id, "="); ++padding) {
  }
  if (id.empty()) return false;
  for (char c : id) {
    if (!IsPersonIdChar(c)) return false;
  }
  return true;
}

// The page id of `urn` without leading zeros, if it is a page URN whose id
// is 1 to 2^63-1.
std::optional<std::string> CanonicalPageId(absl::string_view urn) {
  if (!absl::ConsumePrefix(&urn, kOrganizationalPageUrnPrefix)) return std::nullopt;
  return CanonicalNumericId(urn);
}

constexpr absl::string_view kPageRule = "{digits}: 1 to 2^63-1";
constexpr absl::string_view kPersonRule = "{id}: A-Z a-z 0-9 - _ + / and trailing =";

}  // namespace

std::optional<std::string> CanonicalNumericId(absl::string_view digits) {
  if (!AllDigits(digits)) return std::nullopt;
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  int64_t id = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &id)) return std::nullopt;
  return std::string(digits);
}

absl::StatusOr<std::string> CanonicalFolloweeUrn(absl::string_view field, absl::string_view urn) {
  if (urn.size() <= kMaxUrnLength) {
    if (std::optional<std::string> id = CanonicalPageId(urn); id.has_value()) {
      return absl::StrCat(kOrganizationalPageUrnPrefix, *id);
    }
  }
  if (urn.empty()) {
    return InvalidField(field,
                        absl::StrCat(field, " is required: urn:li:organizationalPage:{digits}"));
  }
  return InvalidField(field, absl::StrCat(field, " must be urn:li:organizationalPage:{digits} (",
                                          kPageRule, "; at most ", kMaxUrnLength,
                                          " characters), got ", QuoteForMessage(urn)));
}

absl::StatusOr<std::string> CanonicalFollowerUrn(absl::string_view field, absl::string_view urn) {
  if (urn.size() <= kMaxUrnLength) {
    if (std::optional<std::string> id = CanonicalPageId(urn); id.has_value()) {
      return absl::StrCat(kOrganizationalPageUrnPrefix, *id);
    }
    if (absl::StartsWith(urn, kPersonUrnPrefix) &&
        IsPersonId(urn.substr(kPersonUrnPrefix.size()))) {
      return std::string(urn);
    }
  }
  if (urn.empty()) {
    return InvalidField(
        field, absl::StrCat(field, " is required: urn:li:person:{id} or "
                                   "urn:li:organizationalPage:{digits}"));
  }
  return InvalidField(field, absl::StrCat(field,
                                          " must be urn:li:person:{id} or "
                                          "urn:li:organizationalPage:{digits} (",
                                          kPersonRule, "; ", kPageRule, "; at most ",
                                          kMaxUrnLength, " characters), got ",
                                          QuoteForMessage(urn)));
}

absl::Status ValidateFolloweeUrn(absl::string_view field, absl::string_view urn) {
  return CanonicalFolloweeUrn(field, urn).status();
}

absl::Status ValidateFollowerUrn(absl::string_view field, absl::string_view urn) {
  return CanonicalFollowerUrn(field, urn).status();
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
  if (consented_ == nullptr) return v1::FOLLOWER_KIND_MEMBER;
  if (id.size() <= kMaxPersonIdLength && std::regex_match(id.begin(), id.end(), *consented_)) {
    return v1::FOLLOWER_KIND_MEMBER;
  }
  return v1::FOLLOWER_KIND_OBFUSCATED_MEMBER;
}

}  // namespace followgate
