// What StartBatch decides before it writes: whether a repeated request_id
// names the same batch, and which profiles of a new batch repeat an earlier
// one of the same batch.
//
// Pure: no storage. Every ledger backend reads what it stored, asks these,
// and writes what they answer.
#ifndef FOLLOWGATE_SERVER_INVITATIONS_BATCH_START_H_
#define FOLLOWGATE_SERVER_INVITATIONS_BATCH_START_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "followgate/v1/invitations.pb.h"
#include "server/invitations/invitation_ledger.h"

namespace followgate {

// A batch as a ledger recorded it.
struct StoredBatch {
  std::string company_id;
  std::string account_id;
  bool retry_unknown = false;
  // The profiles in index order.
  std::vector<std::string> profile_urns;
};

// OK when `spec` repeats `stored` unchanged; otherwise ALREADY_EXISTS
// (reason REQUEST_ID_REUSED) naming the first difference, checked in this
// order: company_id, account_id, retry_unknown, the number of profiles,
// then each profile.
absl::Status CheckRepeatedBatch(const StoredBatch& stored, const BatchSpec& spec);

// A profile of a new batch as it is first recorded: pending, or
// SKIPPED_DUPLICATE when it repeats an earlier index of the same batch.
struct NewBatchProfile {
  int index = 0;
  std::string profile_urn;
  bool duplicate = false;
  // For a duplicate: "repeats profile_urns[i]", i its first index.
  std::string reason;
};

// Every profile of `spec`, by index.
std::vector<NewBatchProfile> NewBatchProfiles(const BatchSpec& spec);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_INVITATIONS_BATCH_START_H_
