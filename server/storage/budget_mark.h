// Remembers across restarts when the next upstream request may start.
#ifndef FOLLOWGATE_SERVER_STORAGE_BUDGET_MARK_H_
#define FOLLOWGATE_SERVER_STORAGE_BUDGET_MARK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace followgate {

// A one-line file holding the earliest time the next request of a rate
// limit may start (RequestPacer's next grant). Without it, a server restarted
// moments after a request would send its first request at once and earn a
// 429: the upstream counts the interval across restarts, so the pacer must
// too. One writer: the state dir's lock makes this process the only one.
// Thread-safe.
class BudgetMark {
 public:
  // Opens (creating it if missing) the file at `path`. INVALID_ARGUMENT when
  // it cannot be opened for writing.
  static absl::StatusOr<std::unique_ptr<BudgetMark>> Open(const std::string& path);
  ~BudgetMark();
  BudgetMark(const BudgetMark&) = delete;
  BudgetMark& operator=(const BudgetMark&) = delete;

  // What the file held when opened: InfinitePast for a new file; for a file
  // that does not parse, `now + fallback` (as if a request had just started:
  // at most one interval is lost, none is ever shortened).
  absl::Time Stored(absl::Time now, absl::Duration fallback) const;
  // Records `next_grant` (overwriting the line in place; no fsync: a machine
  // crash loses at most the last mark, a process crash none).
  void Record(absl::Time next_grant);

 private:
  BudgetMark(int fd, std::string contents) : fd_(fd), contents_(std::move(contents)) {}
  const int fd_;
  const std::string contents_;  // As read at Open.
};

// "<unix nanoseconds>\n" padded to a fixed width, so that an overwrite in
// place never leaves a longer old line behind; and its inverse (false when
// `line` is not one).
std::string FormatBudgetMark(absl::Time next_grant);
bool ParseBudgetMark(absl::string_view line, absl::Time* next_grant);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_STORAGE_BUDGET_MARK_H_
