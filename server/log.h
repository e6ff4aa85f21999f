// Minimal logging to stderr: one line per event.
#ifndef FOLLOWGATE_SERVER_LOG_H_
#define FOLLOWGATE_SERVER_LOG_H_

#include "absl/strings/string_view.h"

namespace followgate {

// Writes "<UTC time> <level> <message>" as one line to stderr, atomically
// with respect to other log lines. Never pass secrets.
void LogInfo(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_LOG_H_
