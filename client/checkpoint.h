// The CLI's checkpoint file: the resume token of the last page written out,
// and whether that page was the stream's last.
//
// Format: the token on the first line; a second line "finished" once the
// stream's last page was written (a file of one line is a stream under way).
#ifndef FOLLOWGATE_CLIENT_CHECKPOINT_H_
#define FOLLOWGATE_CLIENT_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate::cli {

struct Checkpoint {
  // "" when the file does not exist yet.
  std::string token;
  // The token is of the stream's last page: nothing more to read.
  bool finished = false;
};

// The checkpoint in `path`; empty when the file does not exist yet.
// INVALID_ARGUMENT when it cannot be read.
absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path);

// Replaces the file's content atomically and durably (a temporary file,
// fsync, rename): after a crash the file holds the old checkpoint or the new
// one, never a mix. UNAVAILABLE when it cannot be written.
absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_CHECKPOINT_H_
