#include "server/flag_values.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/error_details.h"
#include "server/upstream/urn.h"

namespace followgate {

absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> ParseCompanyCredits(
    absl::string_view list) {
  absl::flat_hash_map<std::string, int64_t> credits;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(entry, ':');
    int64_t count = 0;
    const std::optional<std::string> company = CanonicalNumericId(parts.first);
    if (!company.has_value() || !absl::SimpleAtoi(parts.second, &count) || count < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "company_invitation_credits entries must be COMPANY_ID:COUNT (a company id of 1 to "
          "2^63-1, a count of 0 or more), got ", QuoteForMessage(entry)));
    }
    credits[*company] = count;
  }
  return credits;
}

}  // namespace followgate
