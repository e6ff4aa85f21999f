#include "server/follows/snapshot_hub.h"

#include <algorithm>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/follows/follows_requests.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/status_macros.h"

namespace followgate {

struct SnapshotHub::Crawl {
  FollowsQuery query;
  int64_t snapshot_id = 0;
  Requester who;
  FollowsRoute route;  // Its fetcher and budget.
  WaitTicket ticket;
  CancellationToken cancel;
  std::thread thread;

  absl::Mutex mu;
  int64_t pages_stored ABSL_GUARDED_BY(mu) = 0;
  bool done ABSL_GUARDED_BY(mu) = false;      // The last page is stored.
  bool finished ABSL_GUARDED_BY(mu) = false;  // The thread is ending.
  absl::Status error ABSL_GUARDED_BY(mu);
  int leases = 0;  // Guarded by SnapshotHub::mu_.
  // A caller joined this watch crawl (who.idle_only): see LeaseLocked.
  bool promoted = false;  // Guarded by SnapshotHub::mu_.

  // Readers waiting for a page (see SnapshotLease::WatchPage): by id, the
  // page each waits for and its wake-up.
  uint64_t next_watch ABSL_GUARDED_BY(mu) = 1;
  std::map<uint64_t, std::pair<int64_t, std::function<void()>>> watches ABSL_GUARDED_BY(mu);

  // Whether a reader of page `seq` can get further.
  bool ReadyLocked(int64_t seq) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return pages_stored > seq || done || finished;
  }
  // Takes out the watches that can get further; the caller runs them
  // without holding `mu`.
  std::vector<std::function<void()>> TakeReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<std::function<void()>> ready;
    for (auto it = watches.begin(); it != watches.end();) {
      if (!ReadyLocked(it->second.first)) {
        ++it;
        continue;
      }
      ready.push_back(std::move(it->second.second));
      it = watches.erase(it);
    }
    return ready;
  }
};

namespace {

void RunAll(std::vector<std::function<void()>> wakes) {
  for (std::function<void()>& wake : wakes) wake();
}

}  // namespace

// Removes a reader's watch from its crawl.
class SnapshotHub::CrawlWatch final : public WatchHandle {
 public:
  CrawlWatch(std::shared_ptr<Crawl> crawl, uint64_t id) : crawl_(std::move(crawl)), id_(id) {}
  ~CrawlWatch() override {
    absl::MutexLock lock(&crawl_->mu);
    crawl_->watches.erase(id_);
  }

 private:
  const std::shared_ptr<Crawl> crawl_;
  const uint64_t id_;
};

std::string SnapshotQueryKey(const FollowsQuery& query) {
  if (query.finder == FollowsQuery::Finder::kFollower) {
    return absl::StrCat("follower:", query.urn);
  }
  return absl::StrCat("followee:", query.urn, ":", EdgeTypeName(query.edge_type));
}

SnapshotHub::SnapshotHub(SnapshotStore* store, const FollowsRoutes* routes, Clock* clock,
                         SnapshotHubOptions options, CrawlRegistry* registry)
    : store_(store),
      routes_(routes),
      clock_(clock),
      options_(options),
      registry_(registry) {}

SnapshotHub::SnapshotHub(SnapshotStore* store, const FollowsFetcher* fetcher,
                         UpstreamBudget* pacer, Clock* clock, SnapshotHubOptions options,
                         CrawlRegistry* registry)
    : store_(store),
      own_routes_(std::make_unique<SingleRoute>(fetcher, pacer)),
      routes_(own_routes_.get()),
      clock_(clock),
      options_(options),
      registry_(registry) {}

SnapshotHub::~SnapshotHub() {
  std::map<int64_t, std::shared_ptr<Crawl>> crawls;
  {
    absl::MutexLock lock(&mu_);
    crawls.swap(crawls_);
  }
  for (auto& [id, crawl] : crawls) crawl->cancel.Cancel();
  for (auto& [id, crawl] : crawls) {
    if (crawl->thread.joinable()) crawl->thread.join();
  }
}

void SnapshotHub::ReapLocked() {
  for (auto it = crawls_.begin(); it != crawls_.end();) {
    bool finished;
    {
      absl::MutexLock lock(&it->second->mu);
      finished = it->second->finished;
    }
    if (!finished) {
      ++it;
      continue;
    }
    if (it->second->thread.joinable()) it->second->thread.join();  // Already ending.
    it = crawls_.erase(it);
  }
}

absl::StatusOr<std::unique_ptr<SnapshotLease>> SnapshotHub::LeaseLocked(
    const SnapshotInfo& found, const FollowsQuery& query, const Requester& who) {
  SnapshotInfo info = found;
  // A crawl whose last reader left is stopping: let it end, then go on from
  // what it stored.
  std::shared_ptr<Crawl> stopping;
  {
    absl::MutexLock lock(&mu_);
    auto it = crawls_.find(info.id);
    if (it != crawls_.end() && it->second->cancel.IsCancelled()) {
      stopping = it->second;
      crawls_.erase(it);
    }
  }
  if (stopping != nullptr) {
    stopping->thread.join();
    FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> now, store_->Get(info.id));
    if (!now.has_value()) return absl::FailedPreconditionError("the snapshot is gone");
    info = *now;
  }
  FollowsRoute route;
  if (!info.complete) {
    FG_ASSIGN_OR_RETURN(route, routes_->RouteFor(query));
  }
  if (registry_ != nullptr) registry_->Pin(info.id);  // Undone by Release.
  std::shared_ptr<Crawl> joined_watch;
  std::unique_ptr<SnapshotLease> lease;
  {
    absl::MutexLock lock(&mu_);
    ReapLocked();
    ++pins_[info.id];
    if (info.complete) {
      return std::unique_ptr<SnapshotLease>(
          new SnapshotLease(this, info.id, nullptr, info.page_count));
    }
    auto it = crawls_.find(info.id);
    if (it == crawls_.end()) {
      auto crawl = std::make_shared<Crawl>();
      crawl->query = query;
      crawl->snapshot_id = info.id;
      crawl->who = who;
      crawl->who.ticket = &crawl->ticket;
      crawl->route = route;
      {
        absl::MutexLock crawl_lock(&crawl->mu);
        crawl->pages_stored = info.page_count;
      }
      Crawl* raw = crawl.get();
      crawl->thread =
          std::thread([this, raw, cursor = info.next_cursor] { RunCrawl(raw, cursor); });
      it = crawls_.emplace(info.id, std::move(crawl)).first;
    } else if (it->second->who.idle_only && !who.idle_only && !it->second->promoted) {
      joined_watch = it->second;
    }
    ++it->second->leases;
    lease.reset(new SnapshotLease(this, info.id, it->second, 0));
  }
  if (joined_watch != nullptr) {
    // Outside mu_: a fleet's budget and registry announce it through the
    // database. The registry tells the crawl's leader, should that be
    // another replica (this one's crawl then only follows).
    PromoteWatchCrawl(joined_watch.get(), who.priority, "here");
    if (registry_ != nullptr) registry_->CallerWaits(info.id, who.priority);
  }
  return lease;
}

void SnapshotHub::PromoteWatchCrawl(Crawl* crawl, int priority, absl::string_view where) {
  {
    absl::MutexLock lock(&mu_);
    if (!crawl->who.idle_only || crawl->promoted) return;
    crawl->promoted = true;
  }
  LogInfo(absl::StrCat("a caller joined the watch crawl of snapshot ", crawl->snapshot_id, " (",
                       where, "): it no longer waits for idle slots"));
  crawl->route.budget->Promote(&crawl->ticket, priority);
}

bool SnapshotHub::ForCallers(const Crawl& crawl) {
  absl::MutexLock lock(&mu_);
  return !crawl.who.idle_only || crawl.promoted;
}

absl::StatusOr<std::unique_ptr<SnapshotLease>> SnapshotHub::Open(
    const FollowsQuery& query, std::optional<absl::Duration> max_staleness,
    const Requester& who) {
  absl::MutexLock lock(&open_mu_);
  const std::string key = SnapshotQueryKey(query);
  const absl::Duration staleness = max_staleness.value_or(options_.default_max_staleness);
  FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> complete, store_->LatestComplete(key));
  FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> in_progress, store_->LatestInProgress(key));
  // A fresh complete snapshot is read unless a newer one is being fetched
  // right now: continuing a stopped crawl would cost requests and storage
  // (and fail on a full disk) for data fresh enough already.
  // With a registry, "being fetched" means by any replica.
  bool newer_running = false;
  if (in_progress.has_value() && in_progress->id > complete.value_or(SnapshotInfo{}).id) {
    newer_running = CrawlRunning(in_progress->id);
    if (!newer_running && registry_ != nullptr) {
      FG_ASSIGN_OR_RETURN(newer_running, registry_->CrawlLive(in_progress->id));
    }
  }
  if (complete.has_value() && clock_->Now() - complete->started_at <= staleness &&
      !newer_running) {
    Metrics::Get().RecordSnapshotOpen("hit");
    return LeaseLocked(*complete, query, who);
  }
  // Nothing is stored for a query no credential serves.
  FG_RETURN_IF_ERROR(routes_->RouteFor(query).status());
  if (in_progress.has_value()) {
    Metrics::Get().RecordSnapshotOpen("continued");
    return LeaseLocked(*in_progress, query, who);
  }
  Metrics::Get().RecordSnapshotOpen("new");
  // Another replica may have made one since LatestInProgress: then it is
  // the one.
  FG_ASSIGN_OR_RETURN(SnapshotInfo created, store_->CreateUnlessInProgress(key));
  return LeaseLocked(created, query, who);
}

absl::StatusOr<std::unique_ptr<SnapshotLease>> SnapshotHub::Reopen(int64_t snapshot_id,
                                                                  const FollowsQuery& query,
                                                                  const Requester& who) {
  absl::MutexLock lock(&open_mu_);
  FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> info, store_->Get(snapshot_id));
  if (!info.has_value()) {
    return WithErrorInfo(absl::FailedPreconditionError(
                             "the snapshot this resume token points into is gone (deleted by "
                             "retention); start again without the token"),
                         "SNAPSHOT_GONE");
  }
  if (info->query_key != SnapshotQueryKey(query)) {
    return WithErrorInfo(absl::InvalidArgumentError("resume_token belongs to another query"),
                         "RESUME_TOKEN_MISMATCH");
  }
  return LeaseLocked(*info, query, who);
}

bool SnapshotHub::CrawlRunning(int64_t snapshot_id) {
  absl::MutexLock lock(&mu_);
  auto it = crawls_.find(snapshot_id);
  if (it == crawls_.end() || it->second->cancel.IsCancelled()) return false;
  absl::MutexLock crawl_lock(&it->second->mu);
  return !it->second->finished;
}

absl::Status SnapshotHub::LeadCrawl(Crawl* crawl, std::string cursor) {
  int64_t seq;
  {
    absl::MutexLock lock(&crawl->mu);
    seq = crawl->pages_stored;
  }
  // The cursors stored before (by an earlier crawl, maybe before a restart),
  // so that LinkedIn repeating one of them ends the crawl too.
  SequenceHistory history;
  history.pages = seq;
  FG_ASSIGN_OR_RETURN(history.cursors, store_->Cursors(crawl->snapshot_id));
  return crawl->route.fetcher->FetchSequence(
      crawl->query, std::move(cursor), crawl->cancel, crawl->who,
      [&](StreamedPage page) -> absl::Status {
        const std::string next = page.page.next_cursor;
        if (registry_ != nullptr && !registry_->StillLeading(crawl->snapshot_id)) {
          return absl::AbortedError("the crawl lease was lost");
        }
        absl::Status appended =
            store_->AppendPage(crawl->snapshot_id, seq, SerializeStoredPage(page), next);
        if (!appended.ok() && registry_ != nullptr) {
          // Another replica stored the page: it leads now.
          absl::StatusOr<std::optional<SnapshotInfo>> now = store_->Get(crawl->snapshot_id);
          if (now.ok() && now->has_value() && (*now)->page_count > seq) {
            return absl::AbortedError("another replica stored the page");
          }
        }
        FG_RETURN_IF_ERROR(appended);
        std::vector<std::function<void()>> wakes;
        {
          absl::MutexLock lock(&crawl->mu);
          crawl->pages_stored = ++seq;
          crawl->done = next.empty();
          wakes = crawl->TakeReadyLocked();
        }
        RunAll(std::move(wakes));
        return absl::OkStatus();
      },
      history);
}

absl::StatusOr<bool> SnapshotHub::Refresh(Crawl* crawl) {
  FG_ASSIGN_OR_RETURN(std::optional<SnapshotInfo> info, store_->Get(crawl->snapshot_id));
  if (!info.has_value()) return absl::FailedPreconditionError("the snapshot is gone");
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&crawl->mu);
    crawl->pages_stored = std::max(crawl->pages_stored, info->page_count);
    crawl->done = info->complete;
    wakes = crawl->TakeReadyLocked();
  }
  RunAll(std::move(wakes));
  return info->complete;
}

absl::Status SnapshotHub::CoordinateCrawl(Crawl* crawl) {
  const int64_t id = crawl->snapshot_id;
  bool announced = false;  // That a caller here waits for the leader.
  for (bool first = true;; first = false) {
    if (crawl->cancel.IsCancelled()) return absl::CancelledError("the readers left");
    FG_ASSIGN_OR_RETURN(bool complete, Refresh(crawl));
    if (complete) return absl::OkStatus();
    // A failure recorded before this crawl began is tried again (TryLead
    // clears it); one recorded while it followed is the fleet's answer.
    absl::StatusOr<bool> lead = registry_->TryLead(
        id, first ? CrawlRegistry::IfOutcomeRecorded::kLeadAgain
                  : CrawlRegistry::IfOutcomeRecorded::kLeaveIt);
    if (!first && lead.ok() && !*lead) {
      FG_ASSIGN_OR_RETURN(absl::Status outcome, registry_->Outcome(id));
      if (!outcome.ok()) return outcome;
    }
    if (lead.ok() && *lead) {
      if (crawl->who.idle_only) {
        // A watch crawl: it fetches for callers once one waits for it on
        // another replica. Never called after StopLeading below.
        registry_->WhenCallerWaits(id, [this, crawl](int priority) {
          PromoteWatchCrawl(crawl, priority, "on another replica");
        });
      }
      // What the last leader stored: fetching goes on from its cursor.
      absl::StatusOr<std::optional<SnapshotInfo>> info = store_->Get(id);
      absl::Status status = info.status();
      if (info.ok() && !info->has_value()) {
        status = absl::FailedPreconditionError("the snapshot is gone");
      }
      if (status.ok()) {
        {
          absl::MutexLock lock(&crawl->mu);
          crawl->pages_stored = (*info)->page_count;
          crawl->done = (*info)->complete;
        }
        if (!first && !(*info)->complete) {
          // The replica that fetched it stopped (or died): this one goes on.
          LogInfo(absl::StrCat("took over the crawl of snapshot ", id, " (",
                               SnapshotQueryKey(crawl->query), ") at page ",
                               (*info)->page_count));
        }
        status = (*info)->complete ? absl::OkStatus() : LeadCrawl(crawl, (*info)->next_cursor);
      }
      if (absl::IsAborted(status)) {
        registry_->StopLeading(id, status);
        continue;  // Lost the lead: follow.
      }
      registry_->StopLeading(id, status);
      return status;
    }
    if (!lead.ok() && !absl::IsUnavailable(lead.status())) return lead.status();
    if (lead.ok() && !announced && ForCallers(*crawl)) {
      // Another replica leads: should its crawl be a watch crawl, it must
      // not wait for idle slots while a caller here waits for it. (A watch
      // crawl promoted here announced it in LeaseLocked.)
      const int priority =
          crawl->who.idle_only ? crawl->ticket.promoted_priority.load() : crawl->who.priority;
      registry_->CallerWaits(id, priority);
      announced = true;
    }
    registry_->WaitForChange(id, absl::InfiniteFuture(), crawl->cancel);
  }
}

void SnapshotHub::RunCrawl(Crawl* crawl, std::string cursor) {
  const absl::Status status =
      registry_ == nullptr ? LeadCrawl(crawl, std::move(cursor)) : CoordinateCrawl(crawl);
  bool done;
  {
    absl::MutexLock lock(&crawl->mu);
    done = crawl->done;
  }
  // Retention runs before the crawl is marked finished: ReapLocked joins
  // finished crawls while it holds mu_, which Prune takes.
  if (done) Prune().IgnoreError();
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&crawl->mu);
    if (!status.ok()) crawl->error = status;
    crawl->finished = true;
    wakes = crawl->TakeReadyLocked();
  }
  RunAll(std::move(wakes));
  if (!status.ok() && !crawl->cancel.IsCancelled()) {
    LogInfo(absl::StrCat("crawl of snapshot ", crawl->snapshot_id, " (",
                         SnapshotQueryKey(crawl->query), ") stopped: ", StatusForLog(status)));
  }
}

void SnapshotHub::Release(int64_t snapshot_id, const std::shared_ptr<Crawl>& crawl) {
  if (registry_ != nullptr) registry_->Unpin(snapshot_id);
  absl::MutexLock lock(&mu_);
  if (--pins_[snapshot_id] == 0) pins_.erase(snapshot_id);
  if (crawl != nullptr && --crawl->leases == 0) {
    // Nobody reads it any more: stop fetching. The snapshot stays in
    // progress and goes on from its cursor when someone asks again.
    crawl->cancel.Cancel();
  }
}

absl::Status SnapshotHub::Prune() {
  std::set<int64_t> in_use;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, count] : pins_) in_use.insert(id);
    for (const auto& [id, crawl] : crawls_) {
      absl::MutexLock crawl_lock(&crawl->mu);
      // A crawl that stored its last page needs its snapshot no more (its
      // readers pin it), even before its thread has marked it finished.
      if (!crawl->finished && !crawl->done) in_use.insert(id);
    }
  }
  FG_ASSIGN_OR_RETURN(int deleted, store_->Prune(options_.retention, in_use));
  if (deleted > 0) LogInfo(absl::StrCat("retention deleted ", deleted, " snapshots"));
  return absl::OkStatus();
}

SnapshotLease::~SnapshotLease() {
  DropAhead();
  hub_->Release(snapshot_id_, crawl_);
}

void SnapshotLease::DropAhead() {
  ahead_.clear();
  hub_->read_ahead_bytes_ -= ahead_bytes_;
  ahead_bytes_ = 0;
}

absl::StatusOr<SnapshotLease::PageWait> SnapshotLease::WaitForPage(
    int64_t seq, absl::Time until, const CancellationToken& cancel) {
  if (crawl_ != nullptr) {
    SnapshotHub::Crawl& crawl = *crawl_;
    CancellationCallback wake(cancel, [&crawl] { absl::MutexLock lock(&crawl.mu); });
    absl::MutexLock lock(&crawl.mu);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(crawl.mu) {
      return crawl.ReadyLocked(seq) || cancel.IsCancelled();
    };
    hub_->clock_->AwaitWithDeadline(&crawl.mu, absl::Condition(&ready), until);
    if (cancel.IsCancelled()) return absl::CancelledError("the reader went away");
  }
  return TryPage(seq);
}

absl::StatusOr<SnapshotLease::PageWait> SnapshotLease::TryPage(int64_t seq) {
  PageWait wait;
  bool stored;
  int64_t announced = page_count_;
  if (crawl_ == nullptr) {
    stored = seq < page_count_;
    wait.last = seq == page_count_ - 1;  // Not seq + 1: seq may be any int64.
  } else {
    SnapshotHub::Crawl& crawl = *crawl_;
    absl::MutexLock lock(&crawl.mu);
    stored = crawl.pages_stored > seq;
    announced = crawl.pages_stored;
    wait.last = crawl.done && crawl.pages_stored - 1 == seq;
    if (!stored) {
      if (crawl.done) return wait;  // kEnd
      if (!crawl.error.ok()) {
        if (absl::IsCancelled(crawl.error)) {
          return absl::UnavailableError("the fetch of this snapshot was stopped; retry");
        }
        return crawl.error;
      }
      if (crawl.finished) {
        return absl::UnavailableError("the fetch of this snapshot was stopped; retry");
      }
      wait.kind = PageWait::Kind::kTimeout;
      return wait;
    }
  }
  if (!stored) return wait;  // kEnd
  FG_ASSIGN_OR_RETURN(std::optional<std::string> page, ReadStored(seq, announced));
  if (!page.has_value()) {
    return absl::InternalError(
        absl::StrCat("page ", seq, " of snapshot ", snapshot_id_, " is missing"));
  }
  wait.kind = PageWait::Kind::kPage;
  wait.page = *std::move(page);
  return wait;
}

absl::StatusOr<std::optional<std::string>> SnapshotLease::ReadStored(int64_t seq,
                                                                     int64_t stored) {
  if (!ahead_.empty() && ahead_first_ == seq) {
    std::optional<std::string> page(std::move(ahead_.front()));
    ahead_.pop_front();
    ++ahead_first_;
    ahead_bytes_ -= static_cast<int64_t>(page->size());
    hub_->read_ahead_bytes_ -= static_cast<int64_t>(page->size());
    return page;
  }
  DropAhead();  // The reader went elsewhere: what was read ahead is of no use.
  const SnapshotStore::ReadAhead limits = hub_->store_->read_ahead();
  if (limits.max_pages <= 1 ||
      hub_->read_ahead_bytes_.load() >= hub_->options_.max_read_ahead_bytes) {
    return hub_->store_->ReadPage(snapshot_id_, seq);
  }
  FG_ASSIGN_OR_RETURN(std::vector<std::string> pages,
                      hub_->store_->ReadPages(snapshot_id_, seq,
                                              std::min(limits.max_pages, stored - seq),
                                              limits.max_bytes));
  if (pages.empty()) return std::optional<std::string>();
  std::optional<std::string> page(std::move(pages.front()));
  for (size_t i = 1; i < pages.size(); ++i) {
    ahead_bytes_ += static_cast<int64_t>(pages[i].size());
    ahead_.push_back(std::move(pages[i]));
  }
  hub_->read_ahead_bytes_ += ahead_bytes_;
  ahead_first_ = seq + 1;
  return page;
}

std::unique_ptr<WatchHandle> SnapshotLease::WatchPage(int64_t seq, std::function<void()> wake) {
  if (crawl_ != nullptr) {
    absl::MutexLock lock(&crawl_->mu);
    if (!crawl_->ReadyLocked(seq)) {
      const uint64_t id = crawl_->next_watch++;
      crawl_->watches.emplace(id, std::make_pair(seq, std::move(wake)));
      return std::make_unique<SnapshotHub::CrawlWatch>(crawl_, id);
    }
  }
  wake();
  return nullptr;
}

std::optional<QueuePosition> SnapshotLease::Position() const {
  if (crawl_ == nullptr) return std::nullopt;
  const uint64_t ticket = crawl_->ticket.id;
  if (ticket == 0) return std::nullopt;
  return crawl_->route.budget->PositionOf(ticket);
}

}  // namespace followgate
