#include "server/storage/budget_mark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/base/log.h"

namespace followgate {
namespace {

constexpr size_t kLineWidth = 21;  // Up to 20 digits of int64 nanos, newline.

}  // namespace

std::string FormatBudgetMark(absl::Time next_grant) {
  int64_t nanos = 0;
  if (next_grant != absl::InfinitePast()) nanos = std::max<int64_t>(0, absl::ToUnixNanos(next_grant));
  return absl::StrFormat("%020d\n", nanos);
}

bool ParseBudgetMark(absl::string_view line, absl::Time* next_grant) {
  const absl::string_view digits = absl::StripAsciiWhitespace(line);
  int64_t nanos = 0;
  if (digits.empty() || digits.size() > 20 ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &nanos)) {
    return false;
  }
  *next_grant = nanos == 0 ? absl::InfinitePast() : absl::FromUnixNanos(nanos);
  return true;
}

absl::StatusOr<std::unique_ptr<BudgetMark>> BudgetMark::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  char buffer[64];
  const ssize_t n = pread(fd, buffer, sizeof(buffer), 0);
  return std::unique_ptr<BudgetMark>(
      new BudgetMark(fd, n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string()));
}

BudgetMark::~BudgetMark() { close(fd_); }

absl::Time BudgetMark::Stored(absl::Time now, absl::Duration fallback) const {
  if (contents_.empty()) return absl::InfinitePast();
  absl::Time stored;
  if (ParseBudgetMark(contents_, &stored)) return stored;
  return now + fallback;
}

void BudgetMark::Record(absl::Time next_grant) {
  const std::string line = FormatBudgetMark(next_grant);
  static_assert(kLineWidth == 21, "line width");
  if (pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    LogError(absl::StrCat("cannot record the next upstream slot: ", std::strerror(errno)));
  }
}

}  // namespace followgate
