// Reading credentials without ever echoing them.
#ifndef FOLLOWGATE_SERVER_BASE_SECRETS_H_
#define FOLLOWGATE_SERVER_BASE_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate {

// The secret in `file_path` if it is not empty, else in environment variable
// `env_var`; surrounding whitespace is trimmed. NOT_FOUND when neither holds
// one; INVALID_ARGUMENT when the file cannot be read (or is a directory) or
// the secret holds control characters (it goes into an HTTP header). Messages
// name the file or variable, never the secret. The secret read is registered
// with RegisterSecret (server/base/redaction.h), so no outgoing text can hold it.
absl::StatusOr<std::string> ReadSecret(absl::string_view file_path,
                                       const char* env_var);

// The whole content of the file a flag names (e.g. a PEM certificate or
// key); INVALID_ARGUMENT naming the flag and the path when it cannot be read
// or is a directory.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view path, absl::string_view flag);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_SECRETS_H_
