#include "server/invitations/invitation_batcher.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/error_details.h"
#include "server/invitations/invitation_requests.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/redaction.h"
#include "server/base/status_macros.h"

namespace followgate {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

// Each profile of an answered chunk with its outcome, from ConnectSafely's
// per-profile results. A profile the answer does not mention is UNKNOWN.
std::vector<DecidedProfile> OutcomesOf(const Chunk& chunk,
                                       const std::vector<InviteResult>& results,
                                       absl::Time sent_at, const std::string& request_id) {
  absl::flat_hash_map<std::string, const InviteResult*> by_urn;
  for (const InviteResult& result : results) by_urn.emplace(result.profile_urn, &result);
  std::vector<DecidedProfile> outcomes;
  for (const auto& [index, urn] : chunk.profiles) {
    DecidedProfile d;
    d.index = index;
    d.profile_urn = urn;
    d.invite_time = sent_at;
    d.invited_by_request_id = request_id;
    auto it = by_urn.find(urn);
    if (it == by_urn.end()) {
      d.outcome = v1::INVITATION_OUTCOME_UNKNOWN;
      d.reason = "ConnectSafely's answer did not mention this profile";
    } else if (it->second->success) {
      d.outcome = v1::INVITATION_OUTCOME_SENT;
    } else {
      const InviteResult& r = *it->second;
      d.outcome = absl::StrContains(absl::AsciiStrToUpper(r.status), "ALREADY")
                      ? v1::INVITATION_OUTCOME_ALREADY_INVITED
                      : v1::INVITATION_OUTCOME_FAILED;
      // Upstream text, kept in the ledger and sent to callers: redacted first.
      d.reason = Redact(r.error.empty()
                            ? r.status
                            : absl::StrCat(r.status, r.status.empty() ? "" : ": ", r.error));
      if (d.outcome == v1::INVITATION_OUTCOME_ALREADY_INVITED) {
        // Invited by someone else, at a time ConnectSafely does not say.
        d.invited_by_request_id.clear();
        d.invite_time = absl::InfinitePast();
      }
    }
    outcomes.push_back(std::move(d));
  }
  return outcomes;
}

}  // namespace

// The state of one call working on one batch.
class InvitationBatcher::BatchRun {
 public:
  BatchRun(InvitationBatcher* batcher, BatchSpec spec, std::optional<CreditBudget> budget,
           bool fresh, const CancellationToken& cancel, const Emit& emit, absl::Time deadline)
      : deadline_(deadline),
        fresh_(fresh),
        batcher_(batcher),
        spec_(std::move(spec)),
        budget_(std::move(budget)),
        cancel_(cancel),
        emit_(emit) {}

  // Requests sent to ConnectSafely so far, whatever their answer.
  int64_t requests_sent() const { return requests_sent_; }

  absl::Status Run() {
    // Counted first, as below.
    FG_ASSIGN_OR_RETURN(int pending, batcher_->ledger_->PendingProfiles(spec_.request_id));
    FG_ASSIGN_OR_RETURN(std::vector<DecidedProfile> replay,
                        batcher_->ledger_->DecidedProfiles(spec_.request_id));
    replaying_ = !fresh_;
    FG_RETURN_IF_ERROR(EmitStep(std::move(replay), /*done=*/pending == 0));
    replaying_ = false;
    if (pending == 0) return absl::OkStatus();

    for (;;) {
      std::vector<std::thread> helpers;
      for (int i = 1; i < batcher_->options_.concurrency; ++i) {
        helpers.emplace_back([this] { Work(); });
      }
      Work();
      for (auto& helper : helpers) helper.join();

      {
        absl::MutexLock lock(&mu_);
        if (!first_error_.ok()) return first_error_;
      }
      if (cancel_.IsCancelled()) return absl::CancelledError("the batch was cancelled");
      // Nothing is left to claim: what remains is in flight under other
      // claims (another replica's), or pending again after another let go.
      // Counted before the outcomes are read: a chunk decided meanwhile (by
      // its claimer, or by the recovery of an expired claim) is then in
      // what is read, never left out of a batch reported done.
      FG_ASSIGN_OR_RETURN(pending, batcher_->ledger_->PendingProfiles(spec_.request_id));
      FG_RETURN_IF_ERROR(EmitDecidedElsewhere());
      if (pending == 0) break;
      FG_RETURN_IF_ERROR(WaitForOthers(pending));
    }
    return EmitStep({}, /*done=*/true);
  }

 private:
  bool Stopped() {
    absl::MutexLock lock(&mu_);
    return !first_error_.ok() || cancel_.IsCancelled();
  }

  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (first_error_.ok()) first_error_ = std::move(status);
  }

  // One worker: claims chunks and sends them until none is left or the batch
  // stops.
  void Work() {
    while (!Stopped()) {
      absl::StatusOr<Claim> claim = batcher_->ledger_->ClaimChunk(
          spec_.request_id, kMaxProfilesPerRequest, spec_.retry_unknown, budget_);
      if (!claim.ok()) return Fail(claim.status());
      if (!claim->decided.empty()) {
        if (absl::Status s = EmitStep(std::move(claim->decided), false); !s.ok()) {
          if (claim->chunk.has_value()) {
            batcher_->ledger_->ReleaseChunk(claim->chunk->id).IgnoreError();
          }
          return Fail(s);
        }
      }
      if (!claim->chunk.has_value()) return;
      if (absl::Status s = SendChunk(*claim->chunk); !s.ok()) return Fail(s);
    }
  }

  // Sends one chunk, retrying while it surely did not leave (429, refused
  // connection), and records its outcome.
  absl::Status SendChunk(const Chunk& chunk) {
    InvitationLedger& ledger = *batcher_->ledger_;
    std::vector<std::string> urns;
    for (const auto& [index, urn] : chunk.profiles) urns.push_back(urn);
    const absl::Time sent_at = chunk.claimed_at;
    for (int attempt = 1;; ++attempt) {
      batcher_->AcquireSendSlot();
      InviteAnswer answer =
          batcher_->client_->SendInvitations(spec_.company_id, spec_.account_id, urns);
      batcher_->ReleaseSendSlot();
      if (answer.disposition != SendDisposition::kNotSent) ++requests_sent_;
      if (answer.disposition != SendDisposition::kAnswered) {
        LogInfo(absl::StrCat("ConnectSafely request for batch ", spec_.request_id, " (",
                             urns.size(), " profiles) attempt ", attempt, " failed: ",
                             StatusForLog(answer.status)));
      }
      switch (answer.disposition) {
        case SendDisposition::kAnswered: {
          std::vector<DecidedProfile> outcomes =
              OutcomesOf(chunk, answer.results, sent_at, spec_.request_id);
          FG_RETURN_IF_ERROR(ledger.CompleteChunk(chunk.id, outcomes));
          return EmitStep(std::move(outcomes), false);
        }
        case SendDisposition::kAmbiguous: {
          const std::string reason = Redact(answer.status.message());
          FG_RETURN_IF_ERROR(ledger.MarkChunkUnknown(chunk.id, reason));
          std::vector<DecidedProfile> unknown;
          for (const auto& [index, urn] : chunk.profiles) {
            unknown.push_back({index, urn, v1::INVITATION_OUTCOME_UNKNOWN, reason, sent_at,
                               spec_.request_id});
          }
          EmitStep(std::move(unknown), false).IgnoreError();
          return WithRetryDelay(
              RewordStatus(answer.status,
                           absl::StrCat(answer.status.message(), "; the ",
                                        chunk.profiles.size(),
                                        " profiles of that request are UNKNOWN. Repeat the "
                                        "request to continue with the rest")),
              batcher_->options_.backoff);
        }
        case SendDisposition::kRejected:
          FG_RETURN_IF_ERROR(ledger.ReleaseChunk(chunk.id));
          return answer.status;
        case SendDisposition::kThrottled:
        case SendDisposition::kNotSent:
          break;
      }
      if (attempt > batcher_->options_.max_retries) {
        FG_RETURN_IF_ERROR(ledger.ReleaseChunk(chunk.id));
        return WithRetryDelay(
            RewordStatus(answer.status, absl::StrCat(answer.status.message(), " (gave up after ",
                                                     attempt, " attempts; nothing was sent)")),
            answer.retry_after > absl::ZeroDuration() ? answer.retry_after
                                                      : batcher_->options_.backoff);
      }
      const absl::Duration wait = answer.retry_after > absl::ZeroDuration()
                                      ? answer.retry_after
                                      : batcher_->options_.backoff;
      if (absl::Status too_long = CheckWait(answer.status, wait, urns.size()); !too_long.ok()) {
        FG_RETURN_IF_ERROR(ledger.ReleaseChunk(chunk.id));
        return too_long;
      }
      if (!SleepFor(batcher_->clock_, wait, cancel_).ok()) {
        FG_RETURN_IF_ERROR(ledger.ReleaseChunk(chunk.id));
        return absl::CancelledError("the batch was cancelled");
      }
    }
  }

  // OK when the batch may wait `wait` before retrying a chunk of `profiles`
  // that was not sent (`why`); otherwise, when the wait would outlast
  // --max_upstream_wait or the call's deadline, the status that ends the
  // call at once, with a RetryInfo of the wait.
  absl::Status CheckWait(const absl::Status& why, absl::Duration wait, size_t profiles) {
    const absl::Duration max_wait = batcher_->options_.max_wait;
    const bool past_deadline = batcher_->clock_->Now() + wait > deadline_;
    if (wait <= max_wait && !past_deadline) return absl::OkStatus();
    const std::string limit =
        wait > max_wait ? absl::StrCat("longer than --max_upstream_wait=",
                                       absl::FormatDuration(max_wait))
                        : "beyond the call's deadline";
    absl::Status status = RewordStatus(
        why, absl::StrCat(why.message(), "; the retry would wait ", absl::FormatDuration(wait),
                          ", ", limit, ": not waiting. Nothing was sent for these ", profiles,
                          " profiles; repeat the request (same request_id) after the delay to "
                          "continue"));
    if (!absl::IsResourceExhausted(status)) {
      status = WithErrorInfo(absl::ResourceExhaustedError(status.message()),
                             ErrorReason(why).value_or("CONNECTSAFELY_UNREACHABLE"));
    }
    return WithRetryDelay(status, wait);
  }

  // Emits the outcomes recorded for the batch that this call has not
  // emitted: those decided by another call (on another replica). Not counted
  // in this process's metrics: the process that decided them counted them.
  absl::Status EmitDecidedElsewhere() {
    FG_ASSIGN_OR_RETURN(std::vector<DecidedProfile> decided,
                        batcher_->ledger_->DecidedProfiles(spec_.request_id));
    {
      absl::MutexLock lock(&emit_mu_);
      decided.erase(std::remove_if(decided.begin(), decided.end(),
                                   [this](const DecidedProfile& d) {
                                     emit_mu_.AssertHeld();
                                     return emitted_.count(d.index) > 0;
                                   }),
                    decided.end());
    }
    if (decided.empty()) return absl::OkStatus();
    replaying_ = true;  // No worker runs now.
    absl::Status status = EmitStep(std::move(decided), false);
    replaying_ = false;
    return status;
  }

  // Waits one poll interval for the `in_flight` profiles that other claims
  // hold, then asks the ledger to recover those whose claimer is gone.
  absl::Status WaitForOthers(int in_flight) {
    // Never a busy loop, whatever the option says.
    const absl::Duration poll =
        std::max(batcher_->options_.in_flight_poll_interval, absl::Milliseconds(10));
    if (batcher_->clock_->Now() + poll > deadline_) {
      return WithRetryDelay(
          absl::DeadlineExceededError(absl::StrCat(
              in_flight, " profiles of batch ", spec_.request_id,
              " are still in flight under a claim this call does not hold (another "
              "replica's, or one whose answer could not be recorded); the call's deadline "
              "came first. Repeat the request (same request_id) to get their outcomes")),
          poll);
    }
    if (!SleepFor(batcher_->clock_, poll, cancel_).ok()) {
      return absl::CancelledError(absl::StrCat(
          "the batch was cancelled while ", in_flight,
          " profiles were in flight under a claim this call does not hold"));
    }
    return batcher_->ledger_->RecoverExpiredChunks().status();
  }

  // Emits one step: `decided` (less profiles this call already emitted)
  // and the counts after it.
  absl::Status EmitStep(std::vector<DecidedProfile> decided, bool done) {
    absl::MutexLock lock(&emit_mu_);
    v1::SendInvitationsResponse response;
    response.set_request_id(spec_.request_id);
    for (const DecidedProfile& d : decided) {
      // Each profile's outcome once per call.
      if (!emitted_.insert(d.index).second) continue;
      v1::ProfileResult* result = response.add_results();
      result->set_profile_urn(d.profile_urn);
      result->set_index(d.index);
      result->set_outcome(d.outcome);
      result->set_reason(d.reason);
      if (d.invite_time != absl::InfinitePast()) {
        *result->mutable_invite_time() = ToTimestamp(d.invite_time);
      }
      result->set_invited_by_request_id(d.invited_by_request_id);
      Count(d.outcome);
      if (!replaying_) {
        Metrics::Get().RecordInvitation(
            absl::AsciiStrToLower(v1::InvitationOutcome_Name(d.outcome).substr(19)));
      }
    }
    progress_.set_total_profiles(static_cast<int>(spec_.profile_urns.size()));
    absl::StatusOr<int> requests = batcher_->ledger_->UpstreamRequests(spec_.request_id);
    if (requests.ok()) progress_.set_upstream_requests(*requests);
    *response.mutable_progress() = progress_;
    response.set_done(done);
    return emit_(std::move(response));
  }

  void Count(v1::InvitationOutcome outcome) {
    progress_.set_decided_profiles(progress_.decided_profiles() + 1);
    switch (outcome) {
      case v1::INVITATION_OUTCOME_SENT: progress_.set_sent(progress_.sent() + 1); break;
      case v1::INVITATION_OUTCOME_ALREADY_INVITED:
        progress_.set_already_invited(progress_.already_invited() + 1);
        break;
      case v1::INVITATION_OUTCOME_FAILED: progress_.set_failed(progress_.failed() + 1); break;
      case v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE:
        progress_.set_skipped_duplicate(progress_.skipped_duplicate() + 1);
        break;
      case v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT:
        progress_.set_skipped_no_credit(progress_.skipped_no_credit() + 1);
        break;
      case v1::INVITATION_OUTCOME_UNKNOWN: progress_.set_unknown(progress_.unknown() + 1); break;
      default: break;
    }
  }

  // The call's deadline (InfiniteFuture when it has none).
  const absl::Time deadline_;
  // A batch created by this call (its first message is no replay).
  const bool fresh_;
  bool replaying_ = false;  // Set by Run() before any worker starts.
  InvitationBatcher* const batcher_;
  const BatchSpec spec_;
  const std::optional<CreditBudget> budget_;
  const CancellationToken& cancel_;
  const Emit& emit_;

  std::atomic<int64_t> requests_sent_{0};
  absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  absl::Mutex emit_mu_;
  v1::BatchProgress progress_ ABSL_GUARDED_BY(emit_mu_);
  // Indices of the profiles whose outcome this call emitted.
  std::set<int> emitted_ ABSL_GUARDED_BY(emit_mu_);
};

InvitationBatcher::InvitationBatcher(InvitationLedger* ledger, const ConnectSafelyClient* client,
                                     Clock* clock, InvitationBatcherOptions options)
    : ledger_(ledger), client_(client), clock_(clock), options_(std::move(options)) {}

std::optional<CreditBudget> InvitationBatcher::BudgetFor(const std::string& company_id) const {
  int64_t per_month = options_.monthly_credits;
  if (auto it = options_.company_credits.find(company_id); it != options_.company_credits.end()) {
    per_month = it->second;
  } else if (per_month <= 0) {
    return std::nullopt;
  }
  const absl::CivilMonth month =
      absl::CivilMonth(absl::ToCivilSecond(clock_->Now(), absl::UTCTimeZone()));
  CreditBudget budget;
  budget.per_month = per_month;
  budget.month_start = absl::FromCivil(month, absl::UTCTimeZone());
  budget.month_end = absl::FromCivil(month + 1, absl::UTCTimeZone());
  return budget;
}

absl::Status InvitationBatcher::LockBatch(const std::string& request_id,
                                          const CancellationToken& cancel) {
  CancellationCallback wake(cancel, [this] { absl::MutexLock lock(&mu_); });
  absl::MutexLock lock(&mu_);
  auto free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return busy_batches_.count(request_id) == 0 || cancel.IsCancelled();
  };
  mu_.Await(absl::Condition(&free));
  if (cancel.IsCancelled()) {
    return absl::CancelledError("cancelled while another call worked on the same batch");
  }
  busy_batches_.insert(request_id);
  return absl::OkStatus();
}

void InvitationBatcher::UnlockBatch(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  busy_batches_.erase(request_id);
}

void InvitationBatcher::AcquireSendSlot() {
  absl::MutexLock lock(&mu_);
  auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sends_in_flight_ < std::max(1, options_.concurrency);
  };
  mu_.Await(absl::Condition(&free));
  ++sends_in_flight_;
}

void InvitationBatcher::ReleaseSendSlot() {
  absl::MutexLock lock(&mu_);
  --sends_in_flight_;
}

absl::Status InvitationBatcher::Run(const v1::SendInvitationsRequest& request,
                                    const CancellationToken& cancel, const Emit& emit,
                                    absl::Time deadline, int64_t* requests_sent) {
  FG_ASSIGN_OR_RETURN(BatchSpec spec, BatchSpecFor(request, options_.max_batch_profiles));
  FG_RETURN_IF_ERROR(LockBatch(spec.request_id, cancel));
  struct Unlock {
    InvitationBatcher* batcher;
    std::string request_id;
    ~Unlock() { batcher->UnlockBatch(request_id); }
  } unlock{this, spec.request_id};

  std::optional<CreditBudget> budget = BudgetFor(spec.company_id);
  const bool fresh = !ledger_->BatchExists(spec.request_id);
  if (budget.has_value() && fresh) {
    FG_ASSIGN_OR_RETURN(int64_t used, ledger_->CreditsUsed(spec.company_id, budget->month_start,
                                                           budget->month_end));
    if (used >= budget->per_month) {
      const std::string renew =
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", budget->month_end, absl::UTCTimeZone());
      return WithRetryDelay(
          WithErrorInfo(absl::ResourceExhaustedError(absl::StrCat(
                            "company ", spec.company_id, " has used its ", budget->per_month,
                            " invitation credits for this month; they renew at ", renew,
                            ". Nothing was sent or recorded")),
                        "INVITATION_CREDITS_EXHAUSTED", {{"renew_time", renew}}),
          budget->month_end - clock_->Now());
    }
  }
  FG_RETURN_IF_ERROR(ledger_->StartBatch(spec));
  BatchRun run(this, std::move(spec), std::move(budget), fresh, cancel, emit, deadline);
  const absl::Status status = run.Run();
  if (requests_sent != nullptr) *requests_sent = run.requests_sent();
  return status;
}

absl::StatusOr<v1::Invitation> InvitationBatcher::GetInvitation(
    const v1::GetInvitationRequest& request) {
  FG_ASSIGN_OR_RETURN(const std::string company_id,
                      CanonicalCompanyId("company_id", request.company_id()));
  FG_RETURN_IF_ERROR(ValidateProfileUrn("profile_urn", request.profile_urn()));
  FG_ASSIGN_OR_RETURN(InvitationRecord record,
                      ledger_->GetInvitation(company_id, request.profile_urn()));
  v1::Invitation invitation;
  invitation.set_company_id(record.company_id);
  invitation.set_profile_urn(record.profile_urn);
  invitation.set_outcome(record.outcome);
  invitation.set_reason(record.reason);
  *invitation.mutable_invite_time() = ToTimestamp(record.invite_time);
  invitation.set_request_id(record.request_id);
  return invitation;
}

}  // namespace followgate
