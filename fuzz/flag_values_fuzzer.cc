// Fuzzes the flag values parsed by hand (server/flag_values.h): any text is
// a credits table of digit ids and non-negative counts, or INVALID_ARGUMENT.
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/flag_values.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view list(reinterpret_cast<const char*>(data), size);
  auto credits = followgate::ParseCompanyCredits(list);
  if (!credits.ok()) {
    if (credits.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  for (const auto& [company, count] : *credits) {
    if (company.empty() || company.find_first_not_of("0123456789") != std::string::npos ||
        count < 0) {
      std::abort();
    }
  }
  return 0;
}
