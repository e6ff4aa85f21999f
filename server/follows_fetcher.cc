#include "server/follows_fetcher.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "server/upstream_errors.h"

namespace followgate {

FollowsFetcher::FollowsFetcher(const LinkedInClient* client, RequestPacer* pacer,
                               Clock* clock, FollowsFetcherOptions options)
    : client_(client), pacer_(pacer), clock_(clock), options_(options) {}

absl::StatusOr<StreamedPage> FollowsFetcher::FetchPage(
    const FollowsQuery& query, absl::string_view cursor,
    const CancellationToken& cancel) const {
  const absl::Time asked = clock_->Now();
  absl::Time not_before = asked;
  absl::Duration waited;
  for (int attempt = 1;; ++attempt) {
    const absl::Time wait_started = clock_->Now();
    if (absl::Status granted = pacer_->Acquire(not_before, cancel); !granted.ok()) {
      return granted;
    }
    waited += clock_->Now() - wait_started;
    absl::StatusOr<FollowsPage> page = client_->FetchPage(query, cursor, &cancel);
    if (page.ok()) {
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
    const bool give_up =
        advice == RetryAdvice::kDoNotRetry || attempt > options_.max_retries;
    LogInfo(absl::StrCat("LinkedIn request for ", query.urn, " ",
                         EdgeTypeName(query.edge_type), " attempt ", attempt,
                         " failed: ", page.status().ToString(),
                         give_up ? "; giving up" : "; will retry"));
    if (give_up) {
      if (attempt == 1) return page.status();
      return absl::Status(page.status().code(),
                          absl::StrCat(page.status().message(), " (gave up after ",
                                       attempt, " attempts)"));
    }
    if (advice == RetryAdvice::kRetryAfterInterval) {
      pacer_->OnThrottled();
      not_before = clock_->Now() + pacer_->min_interval();
    } else {
      not_before = clock_->Now() + options_.timeout_backoff;
    }
  }
}

absl::Status FollowsFetcher::StreamSequences(
    const std::vector<FollowsQuery>& sequences, const CancellationToken& cancel,
    const PageCallback& on_page) const {
  int64_t sequence_number = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const bool last_sequence = i + 1 == sequences.size();
    std::string cursor;
    do {
      absl::StatusOr<StreamedPage> page = FetchPage(sequences[i], cursor, cancel);
      if (!page.ok()) return page.status();
      cursor = page->page.next_cursor;
      page->sequence_number = sequence_number++;
      page->last_page = last_sequence && cursor.empty();
      if (absl::Status delivered = on_page(*std::move(page)); !delivered.ok()) {
        return delivered;
      }
    } while (!cursor.empty());
  }
  return absl::OkStatus();
}

}  // namespace followgate
