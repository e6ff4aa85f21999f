// The CLI's checkpoint file: the resume token of the last page written out.
#ifndef FOLLOWGATE_CLIENT_CHECKPOINT_H_
#define FOLLOWGATE_CLIENT_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate::cli {

// The token in `path`; "" when the file does not exist yet.
absl::StatusOr<std::string> ReadCheckpoint(const std::string& path);

// Replaces the file's content with `token` atomically and durably (a
// temporary file, fsync, rename): after a crash the file holds the old token
// or the new one, never a mix.
absl::Status WriteCheckpoint(const std::string& path, absl::string_view token);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_CHECKPOINT_H_
