#include "server/secrets.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

}  // namespace

absl::StatusOr<std::string> ReadSecret(absl::string_view file_path,
                                       const char* env_var) {
  if (!file_path.empty()) {
    std::ifstream in{std::string(file_path)};
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot read secret file ", file_path, ": ", std::strerror(errno)));
    }
    std::stringstream contents;
    contents << in.rdbuf();
    return Checked(contents.str(), absl::StrCat("secret file ", file_path));
  }
  const char* value = std::getenv(env_var);
  if (value == nullptr) {
    return absl::NotFoundError(absl::StrCat("environment variable ", env_var,
                                            " is not set"));
  }
  return Checked(value, absl::StrCat("environment variable ", env_var));
}

absl::StatusOr<std::string> ReadFlagFile(absl::string_view path, absl::string_view flag) {
  std::ifstream in{std::string(path)};
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read --", flag, " ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace followgate
