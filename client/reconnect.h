// When and how soon the CLI reconnects a broken follows stream: the
// arithmetic of its reconnect loop, free of gRPC's transport and of the
// clock (both are passed in).
//
// Retried: UNAVAILABLE (a draining or restarting server, a lost connection,
// LinkedIn unavailable through the server's own retries), except a TLS or
// client-certificate mismatch, which no retry fixes. A server that refuses
// this client's certificate (or its lack of one) under TLS 1.3 shows only as
// a connection closed before any answer: after kClosedBeforeAnyAnswer of
// those in a row, on a run that never had an answer, the loop gives up. Everything else ends
// the run at once: RESOURCE_EXHAUSTED too, since the server already waited
// as long as it allows (--max_upstream_wait) before answering it, and
// DEADLINE_EXCEEDED / CANCELLED are the caller's own.
#ifndef FOLLOWGATE_CLIENT_RECONNECT_H_
#define FOLLOWGATE_CLIENT_RECONNECT_H_

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate::cli {

// Whether an answer with `code` and `message` is worth reconnecting for.
bool IsRetryable(absl::StatusCode code, absl::string_view message);

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  double multiplier = 1.6;
  // Each delay is multiplied by a factor drawn from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  absl::Duration max = absl::Seconds(30);
};

// Counts the failed attempts since the last page and says how long to wait
// before the next one. Not thread-safe.
class Reconnector {
 public:
  // `uniform01` draws from [0, 1) (injected so that tests are exact);
  // `deadline` is when the whole run must end (InfiniteFuture: never).
  Reconnector(BackoffPolicy policy, std::function<double()> uniform01, absl::Time deadline);

  // A page arrived: the next failure waits the initial delay again.
  void OnProgress() { failures_ = 0; }
  // The server answered something (a page or a heartbeat) on this run.
  void OnAnswer() { answered_ = true; }

  // Counts an attempt that failed with `message`; true when it is the
  // kClosedBeforeAnyAnswer-th attempt in a row whose connection was closed
  // before any answer (HintForClosedConnection), on a run without answers.
  bool RefusedEveryConnection(absl::string_view message);
  static constexpr int kClosedBeforeAnyAnswer = 3;

  // The delay before reconnecting after a failure at `now`: the server's
  // RetryInfo `retry_delay` when it sent one, else the capped exponential
  // backoff with jitter. nullopt when the run's deadline comes first (the
  // loop ends then, with the error).
  std::optional<absl::Duration> NextDelay(std::optional<absl::Duration> retry_delay,
                                          absl::Time now);

  // Reconnects so far, over the whole run.
  int reconnects() const { return reconnects_; }

 private:
  const BackoffPolicy policy_;
  const std::function<double()> uniform01_;
  const absl::Time deadline_;
  int failures_ = 0;
  int reconnects_ = 0;
  bool answered_ = false;
  int closed_in_a_row_ = 0;
};

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_RECONNECT_H_
