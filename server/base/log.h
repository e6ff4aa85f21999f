// Structured logging: one JSON object per line on stderr.
#ifndef FOLLOWGATE_SERVER_BASE_LOG_H_
#define FOLLOWGATE_SERVER_BASE_LOG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace followgate {

using LogValue = std::variant<std::string, int64_t, double, bool>;
using LogFields = std::vector<std::pair<std::string, LogValue>>;

// Writes {"time":..., "level":..., "event":..., <fields>} as one line,
// atomically with respect to other lines. Values are JSON-escaped, so caller
// input cannot forge lines. Every key and string value passes through
// Redact() (server/base/redaction.h); still, never pass secrets.
void LogEvent(absl::string_view level, absl::string_view event, const LogFields& fields);

// {"event":"message","msg":...} at INFO or ERROR.
void LogInfo(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_LOG_H_
