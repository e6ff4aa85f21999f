// The process's secrets, and the one redactor every outgoing string passes
// through (log lines, gRPC error messages and details, metric labels).
#ifndef FOLLOWGATE_SERVER_BASE_REDACTION_H_
#define FOLLOWGATE_SERVER_BASE_REDACTION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace followgate {

// What a redacted secret or credential becomes.
inline constexpr absl::string_view kRedacted = "[REDACTED]";

// Secrets shorter than this are not registered: replacing a few common
// characters everywhere would garble text, and no real token, key or
// password is that short.
inline constexpr size_t kMinRedactedSecretLength = 8;

// Adds `secret` (after trimming surrounding whitespace) to the process-wide
// registry, with its percent-encoded, JSON-escaped and C-escaped (as
// absl::Status::ToString prints payloads) forms; values shorter
// than kMinRedactedSecretLength are ignored. Registering a value twice is a
// no-op. Secrets stay registered for the life of the process. Thread-safe.
void RegisterSecret(absl::string_view secret);

// `text` with every registered secret (in any of its registered forms)
// replaced by kRedacted, and with whatever follows `Bearer ` or an
// `Authorization:` / `Authorization=` label redacted too, whether or not it
// was registered (e.g. a credential an upstream echoes that the process never
// held). Placeholders such as "Bearer <token>" are left alone. Thread-safe.
std::string Redact(absl::string_view text);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_REDACTION_H_
