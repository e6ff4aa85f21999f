#include "client/stream_printer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace followgate::cli {

bool WriteOut(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
      std::fflush(stdout) == 0) {
    return true;
  }
  absl::FPrintF(stderr, "followgate: cannot write the output: %s\n", std::strerror(errno));
  return false;
}

bool StdoutHoldsData() {
  struct stat st;
  return fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

}  // namespace followgate::cli
