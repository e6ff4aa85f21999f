// The never-invite-twice rule: for each pending profile of a batch, whether
// a claim may send it now or which outcome it gets instead, given what the
// ledger records for the profile at the batch's company.
//
// Pure: no storage, no clock. Every ledger backend reads the records, asks
// DecideClaim, and writes what it answers.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_CLAIM_DECISION_H_
#define FOLLOWGATE_SERVER_INVITATIONS_CLAIM_DECISION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "followgate/v1/invitations.pb.h"

namespace followgate {

// A profile of a batch with its outcome.
struct DecidedProfile {
  int index = 0;
  std::string profile_urn;
  v1::InvitationOutcome outcome = v1::INVITATION_OUTCOME_UNSPECIFIED;
  std::string reason;
  // When the invitation was sent; InfinitePast when it never was.
  absl::Time invite_time = absl::InfinitePast();
  std::string invited_by_request_id;
};

// A page's monthly credit budget.
struct CreditBudget {
  int64_t per_month = 0;
  absl::Time month_start;
  absl::Time month_end;
};

// What the ledger records for one (company, profile): the latest claim of
// any batch and, once its answer came, that answer's outcome.
struct RecordedInvitation {
  // A chunk holding the profile may have left and its answer has not come
  // yet (`outcome` is then meaningless).
  bool in_flight = false;
  // SENT, ALREADY_INVITED, FAILED or UNKNOWN.
  v1::InvitationOutcome outcome = v1::INVITATION_OUTCOME_UNSPECIFIED;
  // The batch whose chunk last held the profile, and when it claimed it.
  std::string request_id;
  absl::Time invite_time = absl::InfinitePast();
};

// A profile of the batch that has no outcome yet and is in no chunk.
struct PendingProfile {
  int index = 0;
  std::string profile_urn;
  // None: followgate never claimed the profile for this company.
  std::optional<RecordedInvitation> recorded;
};

// What one claim works with, besides the profile itself.
struct ClaimRules {
  // The batch's retry_unknown: UNKNOWN profiles may be sent again.
  bool retry_unknown = false;
  // The company's budget for the current month; none: unlimited.
  std::optional<CreditBudget> budget;
  // Credits the company spent in the budget's month before this claim
  // (sent, in flight or unknown; see InvitationLedger::CreditsUsed).
  int64_t credits_used = 0;
};

// Either the profile goes into the claim's chunk, or it is decided now.
struct ClaimDecision {
  bool claim = false;
  // When not claimed: the profile with its outcome, reason, invite time and
  // the batch that invited it (when one did).
  DecidedProfile decided;
};

// Decides one pending profile; `claimed_so_far` profiles of this claim were
// already given a chunk place. The rules, in order:
//  1. SENT, ALREADY_INVITED or in flight: ALREADY_INVITED, naming the batch
//     that invited it and when. Never sent twice, whatever the options.
//  2. UNKNOWN (an answer was lost, so it may have been sent): UNKNOWN again,
//     unless `rules.retry_unknown`.
//  3. Anything else (never claimed, FAILED, UNKNOWN with retry_unknown) needs
//     a credit: SKIPPED_NO_CREDIT once the budget's credits used before the
//     claim plus `claimed_so_far` reach its per-month count, naming the time
//     it renews. Rules 1 and 2 spend no credit.
//  4. Otherwise: claimed.
ClaimDecision DecideClaim(const PendingProfile& profile, const ClaimRules& rules,
                          int64_t claimed_so_far);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_CLAIM_DECISION_H_
