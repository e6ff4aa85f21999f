// Captures what the process writes to stderr (e.g. the server's JSON log
// lines) into a temporary file, for tests that check log lines.
#ifndef FOLLOWGATE_TESTS_TESTING_STDERR_CAPTURE_H_
#define FOLLOWGATE_TESTS_TESTING_STDERR_CAPTURE_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace followgate::testing {

// Redirects file descriptor 2 from construction until Stop() (or
// destruction). Not thread-safe; one at a time per process.
class StderrCapture {
 public:
  StderrCapture() {
    char pattern[] = "/tmp/stderr-capture-XXXXXX";
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = dir == nullptr ? pattern : std::string(dir) + "/stderr-capture-XXXXXX";
    const int fd = mkstemp(path_.data());
    std::fflush(stderr);
    saved_ = dup(2);
    dup2(fd, 2);
    close(fd);
  }
  ~StderrCapture() { Stop(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Restores stderr and returns everything written to it meanwhile.
  std::string Stop() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
      std::ifstream in(path_);
      std::stringstream contents;
      contents << in.rdbuf();
      captured_ = contents.str();
      unlink(path_.c_str());
    }
    return captured_;
  }

 private:
  std::string path_;
  int saved_ = -1;
  std::string captured_;
};

}  // namespace followgate::testing

#endif  // FOLLOWGATE_TESTS_TESTING_STDERR_CAPTURE_H_
