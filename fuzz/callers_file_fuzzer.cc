// Fuzzes the callers file parser (ParseCallers in server/grpc/caller_auth.h): any
// text is a list of callers or INVALID_ARGUMENT.
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/grpc/caller_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  auto callers = followgate::ParseCallers(json);
  if (!callers.ok() && callers.status().code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  return 0;
}
