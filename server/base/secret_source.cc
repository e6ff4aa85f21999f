#include "server/base/secret_source.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/log.h"
#include "server/base/redaction.h"
#include "server/base/secrets.h"

namespace followgate {
namespace {

// The stamp of the file at `path` (following symlinks, as a mounted secret's
// are), or all zeros when it cannot be stat'ed.
std::tuple<int64_t, int64_t, int64_t, int64_t> StampOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return {0, 0, 0, 0};
  return {static_cast<int64_t>(info.st_ino), static_cast<int64_t>(info.st_size),
          static_cast<int64_t>(info.st_mtim.tv_sec), static_cast<int64_t>(info.st_mtim.tv_nsec)};
}

}  // namespace

std::shared_ptr<SecretSource> SecretSource::Fixed(std::string secret) {
  return std::shared_ptr<SecretSource>(new SecretSource(
      "", "a fixed secret", nullptr, absl::InfiniteDuration(), std::move(secret), {}));
}

absl::StatusOr<std::shared_ptr<SecretSource>> SecretSource::Open(const std::string& path,
                                                                 const char* env_var,
                                                                 Clock* clock,
                                                                 absl::Duration check_interval) {
  const FileStamp stamp = path.empty() ? FileStamp{} : StampOf(path);
  absl::StatusOr<std::string> secret = ReadSecret(path, env_var);
  if (!secret.ok()) return secret.status();
  std::string origin =
      path.empty() ? absl::StrCat("environment variable ", env_var) : absl::StrCat("file ", path);
  return std::shared_ptr<SecretSource>(new SecretSource(path, std::move(origin), clock,
                                                        check_interval, *std::move(secret),
                                                        stamp));
}

SecretSource::SecretSource(std::string path, std::string origin, Clock* clock,
                           absl::Duration check_interval, std::string secret, FileStamp stamp)
    : path_(std::move(path)),
      origin_(std::move(origin)),
      clock_(clock),
      check_interval_(check_interval),
      secret_(std::move(secret)),
      stamp_(stamp),
      checked_at_(clock_ != nullptr ? clock_->Now() : absl::InfinitePast()) {}

SecretSource::Value SecretSource::Current() {
  absl::MutexLock lock(&mu_);
  if (!path_.empty() && clock_->Now() - checked_at_ >= check_interval_) {
    checked_at_ = clock_->Now();
    if (StampOf(path_) != stamp_) RereadLocked().IgnoreError();  // Logged there.
  }
  return Value{secret_, generation_};
}

bool SecretSource::RereadAfterRejection(int64_t used) {
  absl::MutexLock lock(&mu_);
  if (!path_.empty()) RereadLocked().IgnoreError();
  return generation_ != used;
}

void SecretSource::Set(std::string secret) {
  RegisterSecret(secret);
  absl::MutexLock lock(&mu_);
  if (secret == secret_) return;
  secret_ = std::move(secret);
  ++generation_;
}

absl::Status SecretSource::Reload() {
  absl::MutexLock lock(&mu_);
  if (path_.empty()) return absl::OkStatus();
  return RereadLocked();
}

absl::Status SecretSource::RereadLocked() {
  checked_at_ = clock_->Now();
  const FileStamp stamp = StampOf(path_);
  absl::StatusOr<std::string> secret = ReadSecret(path_, "");
  if (!secret.ok()) {
    LogEvent("WARNING", "secret_reread_failed",
             {{"origin", origin_},
              {"error", std::string(secret.status().message())},
              {"msg", "kept the secret in use"}});
    return secret.status();
  }
  stamp_ = stamp;
  if (*secret != secret_) {
    secret_ = *std::move(secret);
    ++generation_;
    LogInfo(absl::StrCat("the secret in ", origin_, " changed: using the new one (generation ",
                         generation_, ")"));
  }
  return absl::OkStatus();
}

}  // namespace followgate
