// Fuzzes the reading of credentials (ReadSecret in server/base/secrets.h) from a
// file holding the input: the secret is accepted, or refused with a message
// that never holds it.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/base/secrets.h"

namespace {

// One file per process, rewritten for each input; removed at exit.
const std::string* secret_dir = nullptr;

void RemoveSecretDir() {
  unlink((*secret_dir + "/secret").c_str());
  rmdir(secret_dir->c_str());
}

const std::string& SecretPath() {
  static const std::string* const path = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/secret_file_fuzzer.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    secret_dir = new std::string(dir);
    std::atexit(RemoveSecretDir);
    return new std::string(dir + "/secret");
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = SecretPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), size);
  }
  auto secret = followgate::ReadSecret(path, "FOLLOWGATE_FUZZ_UNSET_VARIABLE");
  if (secret.ok()) return 0;
  if (secret.status().code() != absl::StatusCode::kInvalidArgument &&
      secret.status().code() != absl::StatusCode::kNotFound) {
    std::abort();
  }
  // The message names the file; apart from that it must not hold the secret.
  const std::string message =
      absl::StrReplaceAll(secret.status().message(), {{path, ""}});
  const absl::string_view input =
      absl::StripAsciiWhitespace(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (input.size() >= 8 && message.find(std::string(input)) != std::string::npos) {
    std::abort();
  }
  return 0;
}
