// Makes SQLite databases of this process "full" on demand, without filling a
// disk: a test cannot mount a small tmpfs without privileges it lacks, and
// filling a real disk would harm everyone else on the machine.
#ifndef FOLLOWGATE_SERVER_TESTING_SQLITE_FULL_DISK_H_
#define FOLLOWGATE_SERVER_TESTING_SQLITE_FULL_DISK_H_

#include <string>

#include "absl/status/status.h"

namespace followgate {

// Install() registers a SQLite auto-extension that remembers every
// connection opened afterwards by its file. Fill(file) sets that connection's
// `PRAGMA max_page_count` to the database's current size: from then on every
// write that needs a new page fails with SQLITE_FULL, exactly as on a full
// disk, while reads go on. Free(file) lifts the limit.
//
// Fill and Free run on the connection itself: call them only while nothing
// else uses that database (e.g. between RPCs). Install is thread-safe and
// idempotent. NOT_FOUND when no connection to `file` was opened since
// Install.
class SqliteFullDisk {
 public:
  static void Install();
  static absl::Status Fill(const std::string& file);
  static absl::Status Free(const std::string& file);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_TESTING_SQLITE_FULL_DISK_H_
