#include "server/invitations/claim_decision.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace followgate {
namespace {

// Whether the profile may already have been invited by a request that was
// answered, or may still be (rule 1).
bool InvitedOrInFlight(const RecordedInvitation& recorded) {
  return recorded.in_flight || recorded.outcome == v1::INVITATION_OUTCOME_SENT ||
         recorded.outcome == v1::INVITATION_OUTCOME_ALREADY_INVITED;
}

// The profile decided without sending, as the recorded invitation left it.
ClaimDecision Decided(const PendingProfile& profile, v1::InvitationOutcome outcome,
                      std::string reason, const RecordedInvitation* recorded) {
  ClaimDecision decision;
  decision.decided.index = profile.index;
  decision.decided.profile_urn = profile.profile_urn;
  decision.decided.outcome = outcome;
  decision.decided.reason = std::move(reason);
  if (recorded != nullptr) {
    decision.decided.invite_time = recorded->invite_time;
    decision.decided.invited_by_request_id = recorded->request_id;
  }
  return decision;
}

}  // namespace

ClaimDecision DecideClaim(const PendingProfile& profile, const ClaimRules& rules,
                          int64_t claimed_so_far) {
  if (profile.recorded.has_value()) {
    const RecordedInvitation& recorded = *profile.recorded;
    if (InvitedOrInFlight(recorded)) {
      return Decided(profile, v1::INVITATION_OUTCOME_ALREADY_INVITED,
                     absl::StrCat("invited by batch ", recorded.request_id), &recorded);
    }
    if (recorded.outcome == v1::INVITATION_OUTCOME_UNKNOWN && !rules.retry_unknown) {
      return Decided(profile, v1::INVITATION_OUTCOME_UNKNOWN,
                     absl::StrCat("batch ", recorded.request_id,
                                  " may have invited it (its answer was lost); not re-sent "
                                  "unless retry_unknown is set"),
                     &recorded);
    }
  }
  const std::optional<CreditBudget>& budget = rules.budget;
  if (budget.has_value() && rules.credits_used + claimed_so_far >= budget->per_month) {
    return Decided(profile, v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT,
                   absl::StrCat("the page's monthly budget of ", budget->per_month,
                                " invitations is spent until ",
                                absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", budget->month_end,
                                                 absl::UTCTimeZone())),
                   nullptr);
  }
  ClaimDecision claim;
  claim.claim = true;
  return claim;
}

}  // namespace followgate
