// ListSnapshots: a page of the retained snapshots of a page's followers.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_LIST_SNAPSHOTS_H_
#define FOLLOWGATE_SERVER_FOLLOWS_LIST_SNAPSHOTS_H_

#include "absl/status/statusor.h"
#include "followgate/v1/follows.pb.h"
#include "server/follows/snapshot_store.h"

namespace followgate {

// The request's page of snapshots, newest first per sequence (members'
// before pages'). The page token is "<sequence index>.<id to list below>":
// it names no data a caller may not list anyway, so it is not signed.
// INVALID_ARGUMENT naming the field for a malformed followee, page_size or
// page_token; storage errors as the store returns them. `store` is not
// owned. Thread-safe if the store is.
absl::StatusOr<v1::ListSnapshotsResponse> ListSnapshots(SnapshotStore* store,
                                                        const v1::ListSnapshotsRequest& request);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_LIST_SNAPSHOTS_H_
