#include "client/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace followgate::cli {
namespace {

constexpr absl::string_view kFinishedLine = "finished";

}  // namespace

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) return Checkpoint();
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read checkpoint ", path));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripAsciiWhitespace(contents.str()), '\n', absl::SkipWhitespace());
  Checkpoint checkpoint;
  if (!lines.empty()) checkpoint.token = std::string(absl::StripAsciiWhitespace(lines[0]));
  checkpoint.finished =
      lines.size() > 1 && absl::StripAsciiWhitespace(lines[1]) == kFinishedLine;
  return checkpoint;
}

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write checkpoint ", tmp, ": ", std::strerror(errno)));
  }
  std::string line = absl::StrCat(checkpoint.token, "\n");
  if (checkpoint.finished) absl::StrAppend(&line, kFinishedLine, "\n");
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
