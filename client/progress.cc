#include "client/progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace followgate::cli {
namespace {

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

}  // namespace

Progress::Progress(std::FILE* out, bool live, absl::Time start)
    : out_(out), live_(live), start_(start) {}

void Progress::OnPage(int64_t edges, absl::Duration upstream_wait, absl::Time now) {
  ++pages_;
  edges_ += edges;
  upstream_wait_ += upstream_wait;
  if (!live_ || now - last_draw_ < absl::Milliseconds(200)) return;
  last_draw_ = now;
  absl::FPrintF(out_, "\r\033[K%s", Summary(now));
  std::fflush(out_);
}

void Progress::OnWaiting(int ahead, absl::Duration wait, absl::Time now) {
  if (!live_) return;
  last_draw_ = now;
  absl::FPrintF(out_, "\r\033[K%s; now waiting: %d requests ahead, next page in about %s",
                Summary(now), ahead, Seconds(wait));
  std::fflush(out_);
}

void Progress::OnReconnect(const std::string& line, absl::Time now) {
  ++reconnects_;
  absl::FPrintF(out_, "%s%s\n", live_ ? "\r\033[K" : "", line);
  std::fflush(out_);
  last_draw_ = now;
}

std::string Progress::Summary(absl::Time now) const {
  const absl::Duration elapsed = now - start_;
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const int64_t rate = seconds > 0 ? static_cast<int64_t>(edges_ / seconds) : 0;
  return absl::StrCat(edges_, " edges in ", pages_, pages_ == 1 ? " page" : " pages",
                      " in ", Seconds(elapsed), " (", rate, " edges/s), ",
                      Seconds(upstream_wait_), " waiting for the LinkedIn budget",
                      reconnects_ == 0 ? "" : absl::StrCat(", ", reconnects_,
                                                          reconnects_ == 1 ? " reconnect"
                                                                           : " reconnects"));
}

void Progress::Finish(absl::Time now) {
  absl::FPrintF(out_, "%s%s\n", live_ ? "\r\033[K" : "", Summary(now));
  std::fflush(out_);
}

}  // namespace followgate::cli
