#include "server/base/state_blob.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace followgate {
namespace {

class FileBlob final : public StateBlob {
 public:
  explicit FileBlob(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<std::optional<std::string>> Load() override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return std::nullopt;
      return absl::InternalError(absl::StrCat("cannot read ", path_, ": ", std::strerror(errno)));
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  absl::Status Save(const std::string& text) override {
    const std::string tmp = path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
    }
    const bool written =
        ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    if (!written || std::rename(tmp.c_str(), path_.c_str()) != 0) {
      std::remove(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", path_));
    }
    return absl::OkStatus();
  }

  std::string Describe() const override { return absl::StrCat("file ", path_); }

 private:
  const std::string path_;
};

}  // namespace

std::shared_ptr<StateBlob> FileStateBlob(std::string path) {
  return std::make_shared<FileBlob>(std::move(path));
}

}  // namespace followgate
