#include "client/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace followgate::cli {

absl::StatusOr<std::string> ReadCheckpoint(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::string();
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read checkpoint ", path));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(contents.str()));
}

absl::Status WriteCheckpoint(const std::string& path, absl::string_view token) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write checkpoint ", tmp, ": ", std::strerror(errno)));
  }
  const std::string line = absl::StrCat(token, "\n");
  const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       fsync(fd) == 0;
  close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write checkpoint ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace followgate::cli
