#include "client/reconnect.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "client/error_text.h"

namespace followgate::cli {

bool IsRetryable(absl::StatusCode code, absl::string_view message) {
  return code == absl::StatusCode::kUnavailable && !ExplainTlsFailure(message).has_value();
}

bool Reconnector::RefusedEveryConnection(absl::string_view message) {
  if (answered_ || !HintForClosedConnection(message).has_value()) {
    closed_in_a_row_ = 0;
    return false;
  }
  return ++closed_in_a_row_ >= kClosedBeforeAnyAnswer;
}

Reconnector::Reconnector(BackoffPolicy policy, std::function<double()> uniform01,
                         absl::Time deadline)
    : policy_(policy), uniform01_(std::move(uniform01)), deadline_(deadline) {}

std::optional<absl::Duration> Reconnector::NextDelay(std::optional<absl::Duration> retry_delay,
                                                     absl::Time now) {
  absl::Duration delay;
  if (retry_delay.has_value() && *retry_delay >= absl::ZeroDuration()) {
    delay = *retry_delay;
  } else {
    const double base = absl::ToDoubleSeconds(policy_.initial) *
                        std::pow(policy_.multiplier, std::min(failures_, 64));
    const double capped = std::min(base, absl::ToDoubleSeconds(policy_.max));
    const double factor = 1 - policy_.jitter + 2 * policy_.jitter * uniform01_();
    delay = std::min(absl::Seconds(capped * factor), policy_.max);
  }
  if (now + delay >= deadline_) return std::nullopt;
  ++failures_;
  ++reconnects_;
  return delay;
}

}  // namespace followgate::cli
