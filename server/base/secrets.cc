#include "server/base/secrets.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

absl::StatusOr<std::string> Checked(std::string secret, absl::string_view source) {
  secret = std::string(absl::StripAsciiWhitespace(secret));
  if (secret.empty()) {
    return absl::NotFoundError(absl::StrCat(source, " holds no secret"));
  }
  for (unsigned char c : secret) {
    if (absl::ascii_iscntrl(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " holds control characters; expected one token"));
    }
  }
  return secret;
}

// The content of the regular file at `path`; INVALID_ARGUMENT starting with
// `what` and the path when it is missing, unreadable or a directory.
absl::StatusOr<std::string> ReadWholeFile(absl::string_view path, absl::string_view what) {
  const std::string file(path);
  struct stat info;
  if (stat(file.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is a directory; expected a file"));
  }
  std::ifstream in(file);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

absl::StatusOr<std::string> ReadSecret(absl::string_view file_path,
                                       const char* env_var) {
  absl::StatusOr<std::string> secret;
  if (!file_path.empty()) {
    absl::StatusOr<std::string> contents = ReadWholeFile(file_path, "secret file");
    if (!contents.ok()) return contents.status();
    secret = Checked(*std::move(contents), absl::StrCat("secret file ", file_path));
  } else {
    const char* value = std::getenv(env_var);
    if (value == nullptr) {
      return absl::NotFoundError(absl::StrCat("environment variable ", env_var,
                                              " is not set"));
    }
    secret = Checked(value, absl::StrCat("environment variable ", env_var));
  }
  if (secret.ok()) RegisterSecret(*secret);
  return secret;
}

absl::StatusOr<std::string> ReadFlagFile(absl::string_view path, absl::string_view flag) {
  return ReadWholeFile(path, absl::StrCat("--", flag));
}

}  // namespace followgate
