// A small named piece of durable state (a few kB, e.g. a credential's
// refreshed OAuth tokens), kept in a file or in the fleet's database.
#ifndef FOLLOWGATE_SERVER_BASE_STATE_BLOB_H_
#define FOLLOWGATE_SERVER_BASE_STATE_BLOB_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace followgate {

class StateBlob {
 public:
  virtual ~StateBlob() = default;
  // The stored text; nullopt when nothing was stored yet.
  virtual absl::StatusOr<std::optional<std::string>> Load() = 0;
  // Replaces the stored text at once (readers see the old or the new one).
  virtual absl::Status Save(const std::string& text) = 0;
  // Where it lives, for messages ("file PATH", "database secret NAME").
  virtual std::string Describe() const = 0;
};

// A file, written atomically (a temporary file renamed over it) with mode
// 0600, as it may hold secrets.
std::shared_ptr<StateBlob> FileStateBlob(std::string path);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_STATE_BLOB_H_
