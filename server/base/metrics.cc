#include "server/base/metrics.h"

#include <exception>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/base/redaction.h"

namespace followgate {

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& rpcs =
      prometheus::BuildCounter().Name("followgate_rpcs_total").Help("Finished calls.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& rpc_duration =
      prometheus::BuildHistogram().Name("followgate_rpc_duration_seconds")
          .Help("Durations of finished calls.").Register(*registry);
  prometheus::Family<prometheus::Counter>& upstream =
      prometheus::BuildCounter().Name("followgate_upstream_requests_total")
          .Help("Requests to LinkedIn and ConnectSafely by outcome.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& upstream_duration =
      prometheus::BuildHistogram().Name("followgate_upstream_request_duration_seconds")
          .Help("Durations of upstream requests.").Register(*registry);
  prometheus::Histogram& budget_wait =
      prometheus::BuildHistogram().Name("followgate_budget_wait_seconds")
          .Help("Time upstream requests waited for LinkedIn's budget.").Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.1, 1, 10, 60, 300, 1800, 3600});
  prometheus::Gauge& queue =
      prometheus::BuildGauge().Name("followgate_budget_queue_length")
          .Help("Requests waiting for LinkedIn's budget.").Register(*registry).Add({});
  prometheus::Gauge& budget_interval =
      prometheus::BuildGauge().Name("followgate_budget_interval_seconds")
          .Help("The interval between LinkedIn requests in force (raised after 429s).")
          .Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& throttled =
      prometheus::BuildCounter().Name("followgate_upstream_throttled_total")
          .Help("429 answers from LinkedIn and ConnectSafely.").Register(*registry);
  prometheus::Family<prometheus::Counter>& slots =
      prometheus::BuildCounter().Name("followgate_linkedin_slots_total")
          .Help("LinkedIn budget slots by use: caller (a request for a caller), watch (a "
                "watched page refreshed in an idle slot), idle (no request started).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& credential_rejected =
      prometheus::BuildGauge().Name("followgate_linkedin_credential_rejected")
          .Help("1 while LinkedIn rejects the credential (401), else 0.").Register(*registry);
  prometheus::Family<prometheus::Gauge>& token_expiry =
      prometheus::BuildGauge().Name("followgate_linkedin_token_expiry_timestamp_seconds")
          .Help("When the credential's access token expires (Unix time), where known.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& refresh_token_expiry =
      prometheus::BuildGauge().Name("followgate_linkedin_refresh_token_expiry_timestamp_seconds")
          .Help("When the credential's refresh token expires (Unix time), where known.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& snapshots =
      prometheus::BuildCounter().Name("followgate_snapshot_opens_total")
          .Help("Snapshot reads by how they were served: hit (fresh and complete), "
                "continued (in progress), new.").Register(*registry);
  prometheus::Family<prometheus::Counter>& invitations =
      prometheus::BuildCounter().Name("followgate_invitations_total")
          .Help("Invitation outcomes of profiles.").Register(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
  absl::Mutex mu;
};

namespace {

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60, 300, 1800, 7200};
  return *buckets;
}

// Every label value passes through the redactor (a caller name, say, is no
// place for a secret).
std::string Label(absl::string_view value) { return Redact(value); }

}  // namespace

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}

Metrics& Metrics::Get() {
  static Metrics* const metrics = new Metrics();
  return *metrics;
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view code,
                        absl::string_view caller, absl::Duration duration) {
  impl_->rpcs
      .Add({{"method", Label(method)},
            {"code", Label(code)},
            {"caller", Label(caller)}})
      .Increment();
  impl_->rpc_duration.Add({{"method", Label(method)}}, DurationBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::RecordUpstream(absl::string_view upstream, absl::string_view outcome,
                             absl::Duration duration) {
  impl_->upstream.Add({{"upstream", Label(upstream)}, {"outcome", Label(outcome)}})
      .Increment();
  impl_->upstream_duration.Add({{"upstream", Label(upstream)}}, DurationBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::RecordBudgetWait(absl::Duration wait) {
  impl_->budget_wait.Observe(absl::ToDoubleSeconds(wait));
}

void Metrics::SetBudgetQueueLength(int waiting) { impl_->queue.Set(waiting); }

void Metrics::SetBudgetInterval(absl::Duration interval) {
  impl_->budget_interval.Set(absl::ToDoubleSeconds(interval));
}

void Metrics::RecordThrottled(absl::string_view upstream) {
  impl_->throttled.Add({{"upstream", std::string(upstream)}}).Increment();
}

void Metrics::RecordLinkedInSlots(absl::string_view use, int64_t slots) {
  if (slots <= 0) return;
  impl_->slots.Add({{"use", std::string(use)}}).Increment(static_cast<double>(slots));
}

void Metrics::SetLinkedInCredentialRejected(absl::string_view credential, bool rejected) {
  impl_->credential_rejected.Add({{"credential", Label(credential)}}).Set(rejected ? 1 : 0);
}

void Metrics::SetLinkedInTokenExpiry(absl::string_view credential, absl::Time access,
                                     absl::Time refresh) {
  if (access != absl::InfiniteFuture()) {
    impl_->token_expiry.Add({{"credential", Label(credential)}})
        .Set(absl::ToDoubleSeconds(access - absl::UnixEpoch()));
  }
  if (refresh != absl::InfiniteFuture()) {
    impl_->refresh_token_expiry.Add({{"credential", Label(credential)}})
        .Set(absl::ToDoubleSeconds(refresh - absl::UnixEpoch()));
  }
}

void Metrics::RecordSnapshotOpen(absl::string_view result) {
  impl_->snapshots.Add({{"result", Label(result)}}).Increment();
}

void Metrics::RecordInvitation(absl::string_view outcome) {
  impl_->invitations.Add({{"outcome", Label(outcome)}}).Increment();
}

absl::StatusOr<int> Metrics::Expose(const std::string& address) {
  absl::MutexLock lock(&impl_->mu);
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
  const auto ports = impl_->exposer->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError("the metrics server has no port");
  return ports.front();
}

}  // namespace followgate
