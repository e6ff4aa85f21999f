#include "server/follows/follows_fetcher.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/upstream/upstream_errors.h"

namespace followgate {

FollowsFetcher::FollowsFetcher(const LinkedInClient* client, UpstreamBudget* pacer,
                               Clock* clock, FollowsFetcherOptions options)
    : client_(client), pacer_(pacer), clock_(clock), options_(options) {}

absl::StatusOr<StreamedPage> FollowsFetcher::FetchPage(const FollowsQuery& query,
                                                       absl::string_view cursor,
                                                       const CancellationToken& cancel,
                                                       const Requester& requester) const {
  if (absl::Status known = KnownRejection(); !known.ok()) return known;
  PacerRequest slot;
  slot.caller = requester.caller;
  slot.priority = requester.priority;
  slot.idle_only = requester.idle_only;
  slot.not_before = clock_->Now();
  absl::Duration waited;
  bool retried_with_a_rotated_token = false;
  for (int attempt = 1;; ++attempt) {
    const absl::Time wait_started = clock_->Now();
    if (absl::Status granted = pacer_->Acquire(slot, cancel, requester.ticket);
        !granted.ok()) {
      return granted;
    }
    Metrics::Get().RecordLinkedInSlots(
        EffectiveRequest(slot, requester.ticket).idle_only ? "watch" : "caller");
    waited += clock_->Now() - wait_started;
    Metrics::Get().RecordBudgetWait(clock_->Now() - wait_started);
    const int64_t token_used = client_->token_generation();
    absl::StatusOr<FollowsPage> page = client_->FetchPage(query, cursor, &cancel);
    if (absl::IsUnauthenticated(page.status()) && !retried_with_a_rotated_token &&
        !cancel.IsCancelled() && client_->TokenRotatedSince(token_used)) {
      // The token file was replaced since (a rotation the periodic check
      // had not seen yet): once more with the new token, in the next slot.
      retried_with_a_rotated_token = true;
      LogInfo(absl::StrCat("LinkedIn request for ", query.urn, " ", EdgeTypeName(query.edge_type),
                           " attempt ", attempt,
                           " answered 401; the token file holds a new token: retrying with it"));
      slot.not_before = clock_->Now();
      continue;
    }
    RecordTokenAnswer(page.status(), token_used);
    if (options_.on_credential_checked) {
      if (page.ok()) options_.on_credential_checked(true);
      if (absl::IsUnauthenticated(page.status())) options_.on_credential_checked(false);
    }
    if (page.ok()) {
      pacer_->OnAnswered();
      StreamedPage streamed;
      streamed.page = *std::move(page);
      streamed.edge_type = query.edge_type;
      streamed.upstream_wait = waited;
      streamed.attempts = attempt;
      return streamed;
    }
    if (cancel.IsCancelled()) {
      return absl::CancelledError("cancelled during an upstream request");
    }
    const RetryAdvice advice = RetryAdviceOf(page.status());
    // A 429's Retry-After, when LinkedIn sent one (it is not documented).
    const std::optional<absl::Duration> asked =
        advice == RetryAdvice::kRetryAfterInterval ? RetryDelay(page.status()) : std::nullopt;
    if (asked.has_value() && *asked > options_.max_wait) {
      // Held for everyone, up to the cap; this request does not wait at all.
      pacer_->OnThrottled(options_.max_wait);
      LogInfo(absl::StrCat("LinkedIn request for ", query.urn, " ", EdgeTypeName(query.edge_type),
                           " attempt ", attempt, " throttled with Retry-After ",
                           absl::FormatDuration(*asked), "; not waiting that long"));
      return TooLongAWait(page.status(), *asked);
    }
    const bool give_up =
        advice == RetryAdvice::kDoNotRetry || attempt > options_.max_retries;
    LogInfo(absl::StrCat("LinkedIn request for ", query.urn, " ",
                         EdgeTypeName(query.edge_type), " attempt ", attempt,
                         " failed: ", StatusForLog(page.status()),
                         give_up ? "; giving up" : "; will retry"));
    if (give_up) {
      if (advice == RetryAdvice::kDoNotRetry && attempt == 1) return page.status();
      absl::Status final_status = RewordStatus(
          page.status(), absl::StrCat(page.status().message(), " (gave up after ", attempt,
                                      " attempts)"));
      if (advice == RetryAdvice::kDoNotRetry) return final_status;
      // When the caller may try again: what LinkedIn asked, the next free
      // slot, or the backoff.
      absl::Duration delay = options_.timeout_backoff;
      if (advice == RetryAdvice::kRetryAfterInterval) {
        delay = asked.value_or(
            std::max(pacer_->interval(), pacer_->next_grant_time() - clock_->Now()));
      }
      return WithRetryDelay(final_status, delay);
    }
    if (advice == RetryAdvice::kRetryAfterInterval) {
      if (asked.has_value()) {
        pacer_->OnThrottled(*asked);
      } else {
        pacer_->OnThrottled();
      }
      slot.not_before = pacer_->next_grant_time();
    } else {
      slot.not_before = clock_->Now() + options_.timeout_backoff;
    }
  }
}

absl::Status FollowsFetcher::KnownRejection() const {
  if (options_.rejected_token_retry <= absl::ZeroDuration()) return absl::OkStatus();
  const int64_t generation = client_->token_generation();
  absl::MutexLock lock(&rejected_mu_);
  if (rejected_generation_ != generation) return absl::OkStatus();
  const absl::Time retry_at = rejected_at_ + options_.rejected_token_retry;
  if (clock_->Now() >= retry_at) return absl::OkStatus();
  const std::string& name = client_->credential_name();
  return WithErrorInfo(
      absl::UnauthenticatedError(absl::StrCat(
          "LinkedIn credential \"", name, "\": LinkedIn rejected its access token ",
          absl::FormatDuration(absl::Trunc(clock_->Now() - rejected_at_, absl::Seconds(1))),
          " ago; not sent again before a new token (a replaced token file, a refresh) or ",
          absl::FormatDuration(options_.rejected_token_retry), " after the rejection")),
      "LINKEDIN_TOKEN_REJECTED", {{"credential", name}});
}

void FollowsFetcher::RecordTokenAnswer(const absl::Status& answer, int64_t used) const {
  absl::MutexLock lock(&rejected_mu_);
  if (absl::IsUnauthenticated(answer)) {
    rejected_generation_ = used;
    rejected_at_ = clock_->Now();
  } else if (rejected_generation_ == used) {
    rejected_generation_ = -1;  // Accepted after all (or another answer than 401).
  }
}

absl::Status FollowsFetcher::TooLongAWait(const absl::Status& throttled,
                                          absl::Duration asked) const {
  return WithRetryDelay(
      RewordStatus(throttled,
                   absl::StrCat(throttled.message(), "; LinkedIn asked to wait ",
                                absl::FormatDuration(asked), " (Retry-After), longer than ",
                                "--max_upstream_wait=", absl::FormatDuration(options_.max_wait),
                                ": not waiting, try again later")),
      asked);
}

bool SequenceTooLong(int64_t pages, int64_t elements, int64_t total) {
  const int64_t full_pages = (total + kMaxPaginationCount - 1) / kMaxPaginationCount;
  return pages > 2 * full_pages + 10 || elements > total + total / 10 + 1000;
}

absl::Status FollowsFetcher::FetchSequence(const FollowsQuery& query, std::string cursor,
                                           const CancellationToken& cancel,
                                           const Requester& requester,
                                           const PageCallback& on_page,
                                           const SequenceHistory& history) const {
  absl::flat_hash_set<std::string> seen(history.cursors.begin(), history.cursors.end());
  if (!cursor.empty()) seen.insert(cursor);
  int64_t pages = history.pages;
  int64_t elements = 0;  // Of this call only: stored pages are not re-read.
  std::optional<int64_t> total;
  do {
    absl::StatusOr<StreamedPage> page = FetchPage(query, cursor, cancel, requester);
    if (!page.ok()) return page.status();
    ++pages;
    elements += page->page.edges.size();
    if (page->page.total.has_value()) total = std::max(total.value_or(0), *page->page.total);
    cursor = page->page.next_cursor;
    if (!cursor.empty() && !seen.insert(cursor).second) {
      return LinkedInContractError(
          LinkedInContractBreach::kCursorRepeated,
          absl::StrCat("page ", pages, " of ", query.urn, " ", EdgeTypeName(query.edge_type),
                       " names a nextPaginationCursor already seen in this sequence (",
                       QuoteForMessage(cursor), ")"));
    }
    if (total.has_value() && SequenceTooLong(pages, elements, *total)) {
      return LinkedInContractError(
          LinkedInContractBreach::kSequenceTooLong,
          absl::StrCat("page ", pages, " of ", query.urn, " ", EdgeTypeName(query.edge_type),
                       " brings the sequence to ", pages, " pages (", elements,
                       " elements in this fetch) for a paging.total of ", *total));
    }
    if (absl::Status delivered = on_page(*std::move(page)); !delivered.ok()) {
      return delivered;
    }
  } while (!cursor.empty());
  return absl::OkStatus();
}

}  // namespace followgate
