#include "server/follows/page_watcher.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "followgate/v1/follows.pb.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/follows/follows_requests.h"
#include "server/upstream/urn.h"

namespace followgate {

absl::StatusOr<std::vector<std::string>> ParseWatchedPages(const std::string& flag_value) {
  std::vector<std::string> pages;
  std::set<std::string> seen;
  for (absl::string_view part : absl::StrSplit(flag_value, ',', absl::SkipWhitespace())) {
    absl::StatusOr<std::string> urn =
        CanonicalFolloweeUrn("--watch", absl::StripAsciiWhitespace(part));
    if (!urn.ok()) return urn.status();
    if (seen.insert(*urn).second) pages.push_back(*urn);
  }
  return pages;
}

PageWatcher::PageWatcher(SnapshotHub* hub, SnapshotStore* store, Clock* clock,
                         PageWatcherOptions options)
    : hub_(hub), store_(store), clock_(clock), options_(std::move(options)) {
  for (const std::string& page : options_.pages) {
    v1::StreamFollowersRequest request;
    request.set_followee(page);
    request.set_follower_filter(v1::FOLLOWER_FILTER_ALL);
    absl::StatusOr<std::vector<FollowsQuery>> queries = SequencesFor(request);
    if (!queries.ok()) continue;  // ParseWatchedPages let only valid pages through.
    for (FollowsQuery& query : *queries) watched_.push_back(Watched{std::move(query)});
  }
}

PageWatcher::~PageWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_.Cancel();
  if (thread_.joinable()) thread_.join();
}

void PageWatcher::Start() {
  if (watched_.empty()) return;
  LogInfo(absl::StrCat("watching ", options_.pages.size(), " page(s), refreshed every ",
                       absl::FormatDuration(options_.interval), " in idle budget slots"));
  thread_ = std::thread([this] { Run(); });
}

int64_t PageWatcher::refreshes() const {
  absl::MutexLock lock(&mu_);
  return refreshes_;
}

int64_t PageWatcher::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

void PageWatcher::AwaitRounds(int64_t rounds) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, rounds]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return refreshes_ + failures_ >= rounds;
  };
  mu_.Await(absl::Condition(&reached));
}

void PageWatcher::Run() {
  for (;;) {
    Watched* next = &*std::min_element(
        watched_.begin(), watched_.end(),
        [](const Watched& a, const Watched& b) { return a.due < b.due; });
    {
      absl::MutexLock lock(&mu_);
      const auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      clock_->AwaitWithDeadline(&mu_, absl::Condition(&stopping), next->due);
      if (stopping_) return;
    }
    const std::string key = SnapshotQueryKey(next->query);
    absl::StatusOr<absl::Time> started = Refresh(next->query);
    if (stop_.IsCancelled()) return;
    absl::MutexLock lock(&mu_);
    if (started.ok()) {
      ++refreshes_;
      // Due when its snapshot is as old as the interval; a crawl that took
      // longer than that is followed by the next one at once.
      next->due = std::max(*started + options_.interval, clock_->Now());
    } else {
      ++failures_;
      next->due = RetryTime(started.status());
      LogError(absl::StrCat("watch of ", key, " failed (next try at ",
                            absl::FormatTime(next->due), "): ",
                            StatusForLog(started.status())));
    }
  }
}

absl::StatusOr<absl::Time> PageWatcher::Refresh(const FollowsQuery& query) {
  Requester who;
  who.caller = kCaller;
  who.idle_only = true;
  // A snapshot exactly `interval` old is due (the hub serves one as old as
  // the staleness it is given).
  absl::StatusOr<std::unique_ptr<SnapshotLease>> lease =
      hub_->Open(query, options_.interval - absl::Microseconds(1), who);
  if (!lease.ok()) return lease.status();
  // Holding the lease keeps the crawl going; this waits for its end (a page
  // that is never stored), without reading the pages.
  absl::StatusOr<SnapshotLease::PageWait> end = (*lease)->WaitForPage(
      std::numeric_limits<int64_t>::max(), absl::InfiniteFuture(), stop_);
  if (!end.ok()) return end.status();
  absl::StatusOr<std::optional<SnapshotInfo>> info = store_->Get((*lease)->snapshot_id());
  if (!info.ok()) return info.status();
  if (!info->has_value()) return absl::FailedPreconditionError("the snapshot is gone");
  if ((*info)->page_count > 0 || (*info)->complete) {
    LogEvent("INFO", "watch_refreshed",
             {{"query", SnapshotQueryKey(query)},
              {"snapshot", (*info)->id},
              {"pages", (*info)->page_count},
              {"age_seconds",
               absl::ToInt64Seconds(clock_->Now() - (*info)->started_at)}});
  }
  return (*info)->started_at;
}

absl::Time PageWatcher::RetryTime(const absl::Status& failure) const {
  absl::Duration wait = std::max(options_.failure_backoff,
                                 RetryDelay(failure).value_or(absl::ZeroDuration()));
  return clock_->Now() + std::min(wait, options_.interval);
}

}  // namespace followgate
