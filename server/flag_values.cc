#include "server/flag_values.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace followgate {

absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> ParseCompanyCredits(
    absl::string_view list) {
  absl::flat_hash_map<std::string, int64_t> credits;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(entry, ':');
    int64_t count = 0;
    if (parts.first.empty() || parts.first.find_first_not_of("0123456789") !=
                                   absl::string_view::npos ||
        !absl::SimpleAtoi(parts.second, &count) || count < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "company_invitation_credits entries must be COMPANY_ID:COUNT, got \"", entry, "\""));
    }
    credits[std::string(parts.first)] = count;
  }
  return credits;
}

}  // namespace followgate
