// Progress and summary lines of the CLI, on stderr.
#ifndef FOLLOWGATE_CLIENT_PROGRESS_H_
#define FOLLOWGATE_CLIENT_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/time/time.h"

namespace followgate::cli {

// Counts pages and edges as they arrive. When `live` (stderr is a terminal)
// it rewrites one status line at most every 200 ms. Not thread-safe.
class Progress {
 public:
  Progress(std::FILE* out, bool live, absl::Time start);

  void OnPage(int64_t edges, absl::Duration upstream_wait, absl::Time now);
  // The stream waits for LinkedIn's budget: `ahead` requests go first,
  // granted in about `wait`.
  void OnWaiting(int ahead, absl::Duration wait, absl::Time now);
  // The stream broke and reconnects: writes `line` (on its own line, live
  // or not) and counts the reconnect for the summary.
  void OnReconnect(const std::string& line, absl::Time now);
  // The one-line summary, e.g. "12345 edges in 13 pages in 4.6s (2684
  // edges/s), 4.2s waiting for the LinkedIn budget", plus ", 2 reconnects"
  // when there were any.
  std::string Summary(absl::Time now) const;
  void Finish(absl::Time now);

 private:
  std::FILE* const out_;
  const bool live_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  int64_t pages_ = 0;
  int64_t edges_ = 0;
  int64_t reconnects_ = 0;
  absl::Duration upstream_wait_;
};

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_PROGRESS_H_
