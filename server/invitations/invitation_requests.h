// Validation of invitation requests, before anything is recorded or sent.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_INVITATION_REQUESTS_H_
#define FOLLOWGATE_SERVER_INVITATIONS_INVITATION_REQUESTS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "followgate/v1/invitations.pb.h"
#include "server/invitations/invitation_ledger.h"

namespace followgate {

inline constexpr absl::string_view kProfileUrnPrefix = "urn:li:fsd_profile:";

// The canonical company id (leading zeros stripped, so `0777` and `777` are
// one page in the ledger and the credits): 1 to 2^63-1 in decimal.
// INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> CanonicalCompanyId(absl::string_view field,
                                               absl::string_view company_id);

// OK for `urn:li:fsd_profile:{id}` ({id}: 1 to 200 of A-Z a-z 0-9 `-` `_`).
// A follows-API member URN (`urn:li:person:...`) gets its own message: the
// two are different identities and cannot be joined.
absl::Status ValidateProfileUrn(absl::string_view field, absl::string_view urn);

// The batch a request describes, with a fresh UUID as request_id when it has
// none. INVALID_ARGUMENT naming the first bad field; more than
// `max_profiles` profiles is INVALID_ARGUMENT too.
absl::StatusOr<BatchSpec> BatchSpecFor(const v1::SendInvitationsRequest& request,
                                       int max_profiles);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_INVITATION_REQUESTS_H_
