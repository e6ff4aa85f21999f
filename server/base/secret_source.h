// A secret that may be replaced while the server runs: a token file that the
// platform rotates (a mounted secret swapped atomically, an operator's `mv`).
//
// Read from a file, it is checked for a change (its inode, size and
// modification time) at most once per `check_interval` of the injected
// clock, when the secret is asked for, and re-read then; Reload re-reads it
// at once (SIGHUP), and so does RereadAfterRejection (an upstream answered
// 401). A re-read that fails (file gone, empty, control characters) keeps
// the secret in use and logs why, naming the file, never the secret. From
// the environment or fixed, it never changes. Every secret read is
// registered with RegisterSecret (redaction.h).
//
// Thread-safe. `clock` is not owned and must outlive this.
#ifndef FOLLOWGATE_SERVER_BASE_SECRET_SOURCE_H_
#define FOLLOWGATE_SERVER_BASE_SECRET_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace followgate {

class SecretSource {
 public:
  // The secret and how many times it has changed (0 for the first one).
  struct Value {
    std::string secret;
    int64_t generation = 0;
  };

  // A secret that never changes (tests, the sandbox, the environment).
  static std::shared_ptr<SecretSource> Fixed(std::string secret);
  // The secret in `path` (or, when `path` is empty, in `env_var`, which never
  // changes). Errors as ReadSecret (secrets.h).
  static absl::StatusOr<std::shared_ptr<SecretSource>> Open(const std::string& path,
                                                            const char* env_var, Clock* clock,
                                                            absl::Duration check_interval);

  // The secret to use now (re-read first when the file changed and the last
  // check is `check_interval` old).
  Value Current() ABSL_LOCKS_EXCLUDED(mu_);
  // The secret of generation `used` was refused: re-reads the file now.
  // True when the secret in use is now another one than `used`.
  bool RereadAfterRejection(int64_t used) ABSL_LOCKS_EXCLUDED(mu_);
  // Re-reads the file now. An error (the old secret stays) names the file.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);
  // Replaces the secret (a token renewed by OAuth): a new generation,
  // registered with RegisterSecret. A later change of the file still wins.
  void Set(std::string secret) ABSL_LOCKS_EXCLUDED(mu_);

  // "file PATH" or "environment variable NAME" (for logs; never the secret).
  const std::string& origin() const { return origin_; }

 private:
  using FileStamp = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // ino, size, mtime s/ns.

  SecretSource(std::string path, std::string origin, Clock* clock,
               absl::Duration check_interval, std::string secret, FileStamp stamp);
  absl::Status RereadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;  // Empty: never changes.
  const std::string origin_;
  Clock* const clock_;
  const absl::Duration check_interval_;
  absl::Mutex mu_;
  std::string secret_ ABSL_GUARDED_BY(mu_);
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  FileStamp stamp_ ABSL_GUARDED_BY(mu_);
  absl::Time checked_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_SECRET_SOURCE_H_
