// The never-invite-twice rule, one test per rule (see DecideClaim).
#include "server/invitations/claim_decision.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;

const absl::Time kEarlier = absl::FromCivil(absl::CivilSecond(2023, 11, 2, 9, 30, 0),
                                            absl::UTCTimeZone());

PendingProfile Pending(std::optional<RecordedInvitation> recorded = std::nullopt) {
  PendingProfile profile;
  profile.index = 7;
  profile.profile_urn = "urn:li:fsd_profile:ACoA7";
  profile.recorded = std::move(recorded);
  return profile;
}

// What an earlier batch "b0" left in the ledger.
RecordedInvitation Recorded(v1::InvitationOutcome outcome) {
  RecordedInvitation recorded;
  recorded.outcome = outcome;
  recorded.request_id = "b0";
  recorded.invite_time = kEarlier;
  return recorded;
}

RecordedInvitation InFlight() {
  RecordedInvitation recorded;
  recorded.in_flight = true;
  recorded.request_id = "b0";
  recorded.invite_time = kEarlier;
  return recorded;
}

ClaimRules RetryUnknown() {
  ClaimRules rules;
  rules.retry_unknown = true;
  return rules;
}

// November 2023: `per_month` credits, `used` of them spent before the claim.
ClaimRules Budget(int64_t per_month, int64_t used) {
  CreditBudget budget;
  budget.per_month = per_month;
  budget.month_start = absl::FromCivil(absl::CivilMonth(2023, 11), absl::UTCTimeZone());
  budget.month_end = absl::FromCivil(absl::CivilMonth(2023, 12), absl::UTCTimeZone());
  ClaimRules rules;
  rules.budget = budget;
  rules.credits_used = used;
  return rules;
}

TEST(DecideClaim, ProfileNeverClaimedForTheCompanyIsClaimed) {
  EXPECT_TRUE(DecideClaim(Pending(), ClaimRules(), 0).claim);
}

TEST(DecideClaim, SentProfileIsAlreadyInvitedByTheBatchThatSentItAtItsTime) {
  const ClaimDecision decision =
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_SENT)), ClaimRules(), 0);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.index, 7);
  EXPECT_EQ(decision.decided.profile_urn, "urn:li:fsd_profile:ACoA7");
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(decision.decided.reason, "invited by batch b0");
  EXPECT_EQ(decision.decided.invited_by_request_id, "b0");
  EXPECT_EQ(decision.decided.invite_time, kEarlier);
}

TEST(DecideClaim, ProfileConnectSafelyCalledAlreadyInvitedIsAlreadyInvited) {
  const ClaimDecision decision =
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_ALREADY_INVITED)), ClaimRules(), 0);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(decision.decided.invited_by_request_id, "b0");
}

TEST(DecideClaim, ProfileInFlightInAnotherChunkIsAlreadyInvited) {
  const ClaimDecision decision = DecideClaim(Pending(InFlight()), ClaimRules(), 0);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(decision.decided.reason, "invited by batch b0");
  EXPECT_EQ(decision.decided.invite_time, kEarlier);
}

TEST(DecideClaim, InvitedOrInFlightProfileIsNotClaimedEvenWithRetryUnknown) {
  for (const RecordedInvitation& recorded :
       {Recorded(v1::INVITATION_OUTCOME_SENT), Recorded(v1::INVITATION_OUTCOME_ALREADY_INVITED),
        InFlight()}) {
    const ClaimDecision decision = DecideClaim(Pending(recorded), RetryUnknown(), 0);
    EXPECT_FALSE(decision.claim) << recorded.outcome;
    EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_ALREADY_INVITED)
        << recorded.outcome;
  }
}

TEST(DecideClaim, UnknownProfileStaysUnknownWithoutRetryUnknown) {
  const ClaimDecision decision =
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_UNKNOWN)), ClaimRules(), 0);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_EQ(decision.decided.reason,
            "batch b0 may have invited it (its answer was lost); not re-sent unless "
            "retry_unknown is set");
  EXPECT_EQ(decision.decided.invited_by_request_id, "b0");
  EXPECT_EQ(decision.decided.invite_time, kEarlier);
}

TEST(DecideClaim, UnknownProfileIsClaimedWithRetryUnknown) {
  EXPECT_TRUE(DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_UNKNOWN)), RetryUnknown(), 0)
                  .claim);
}

TEST(DecideClaim, FailedProfileIsClaimedAgain) {
  EXPECT_TRUE(
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_FAILED)), ClaimRules(), 0).claim);
}

TEST(DecideClaim, WithoutABudgetCreditsNeverRunOut) {
  ClaimRules rules;
  rules.credits_used = 1'000'000;
  EXPECT_TRUE(DecideClaim(Pending(), rules, 1'000'000).claim);
}

TEST(DecideClaim, ProfilesClaimedEarlierInTheClaimSpendTheBudget) {
  EXPECT_TRUE(DecideClaim(Pending(), Budget(3, 0), 2).claim);
  const ClaimDecision decision = DecideClaim(Pending(), Budget(3, 0), 3);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT);
  EXPECT_EQ(decision.decided.reason,
            "the page's monthly budget of 3 invitations is spent until 2023-12-01T00:00:00Z");
}

TEST(DecideClaim, CreditsUsedBeforeTheClaimSpendTheBudget) {
  EXPECT_TRUE(DecideClaim(Pending(), Budget(3, 2), 0).claim);
  EXPECT_EQ(DecideClaim(Pending(), Budget(3, 3), 0).decided.outcome,
            v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT);
  EXPECT_EQ(DecideClaim(Pending(), Budget(3, 2), 1).decided.outcome,
            v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT);
}

TEST(DecideClaim, ProfileSkippedForCreditWasInvitedByNobodyAtNoTime) {
  const ClaimDecision decision =
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_FAILED)), Budget(3, 3), 0);
  ASSERT_FALSE(decision.claim);
  EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT);
  EXPECT_EQ(decision.decided.index, 7);
  EXPECT_EQ(decision.decided.profile_urn, "urn:li:fsd_profile:ACoA7");
  EXPECT_EQ(decision.decided.invited_by_request_id, "");
  EXPECT_EQ(decision.decided.invite_time, absl::InfinitePast());
}

TEST(DecideClaim, RetriedUnknownAndFailedProfilesNeedACredit) {
  for (v1::InvitationOutcome outcome :
       {v1::INVITATION_OUTCOME_UNKNOWN, v1::INVITATION_OUTCOME_FAILED}) {
    ClaimRules rules = Budget(3, 3);
    rules.retry_unknown = true;
    const ClaimDecision decision = DecideClaim(Pending(Recorded(outcome)), rules, 0);
    EXPECT_FALSE(decision.claim) << outcome;
    EXPECT_EQ(decision.decided.outcome, v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT) << outcome;
  }
}

TEST(DecideClaim, InvitedAndUnknownProfilesKeepTheirOutcomeWhenTheBudgetIsSpent) {
  EXPECT_EQ(
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_SENT)), Budget(3, 3), 0).decided.outcome,
      v1::INVITATION_OUTCOME_ALREADY_INVITED);
  EXPECT_EQ(DecideClaim(Pending(InFlight()), Budget(3, 3), 0).decided.outcome,
            v1::INVITATION_OUTCOME_ALREADY_INVITED);
  const ClaimDecision unknown =
      DecideClaim(Pending(Recorded(v1::INVITATION_OUTCOME_UNKNOWN)), Budget(3, 3), 0);
  EXPECT_EQ(unknown.decided.outcome, v1::INVITATION_OUTCOME_UNKNOWN);
  EXPECT_THAT(unknown.decided.reason, HasSubstr("retry_unknown"));
}

}  // namespace
}  // namespace followgate
