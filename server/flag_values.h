// Flag values that main.cc parses by hand (beyond absl's own flag types).
#ifndef FOLLOWGATE_SERVER_FLAG_VALUES_H_
#define FOLLOWGATE_SERVER_FLAG_VALUES_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate {

// Parses --company_invitation_credits, "COMPANY_ID:COUNT,COMPANY_ID:COUNT"
// (ids canonical as in requests, 1 to 2^63-1 without leading zeros; counts >= 0; empty entries are skipped; a later entry for
// the same id wins). INVALID_ARGUMENT quoting the first malformed entry.
absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> ParseCompanyCredits(
    absl::string_view list);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FLAG_VALUES_H_
