#include "server/base/log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/base/redaction.h"

namespace followgate {
namespace {

// Every string that goes into a line passes through the redactor.
std::string RedactedValue(const std::string& value) { return Redact(value); }
template <typename Scalar>
Scalar RedactedValue(Scalar value) {
  return value;
}

}  // namespace

void LogEvent(absl::string_view level, absl::string_view event, const LogFields& fields) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = std::string(level);
  line["event"] = std::string(event);
  for (const auto& field : fields) {
    // A named variable: clang rejects capturing a structured binding in C++17.
    const std::string key = Redact(field.first);
    std::visit([&line, &key](const auto& v) { line[key] = RedactedValue(v); }, field.second);
  }
  // Invalid UTF-8 in caller input is replaced rather than failing the line.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void LogInfo(absl::string_view message) {
  LogEvent("INFO", "message", {{"msg", std::string(message)}});
}

void LogError(absl::string_view message) {
  LogEvent("ERROR", "message", {{"msg", std::string(message)}});
}

}  // namespace followgate
