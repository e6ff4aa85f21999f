// One ListFollowers answer, gathered step by step.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_LIST_FOLLOWERS_SOURCE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_LIST_FOLLOWERS_SOURCE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "followgate/v1/follows.pb.h"
#include "server/base/message_source.h"
#include "server/follows/read_plan.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// One ListFollowers page (AIP-158) as a source of one message: up to
// `page_size` edges from the page token's place (page tokens are signed and
// checked by `tokens`), then kDone. Pages still being fetched are kWait
// (no heartbeats: a unary call has nothing to send meanwhile).
// INVALID_ARGUMENT naming the field for a bad request. `hub` and `tokens` are
// not owned and must outlive it.
class ListFollowersSource final : public MessageSource<v1::ListFollowersResponse> {
 public:
  ListFollowersSource(SnapshotHub* hub, const ResumeTokenCodec* tokens,
                      v1::ListFollowersRequest request, Requester who);

  absl::StatusOr<SourceStep<v1::ListFollowersResponse>> Next() override;
  std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) override;

 private:
  absl::Status Start();

  SnapshotHub* const hub_;
  const ResumeTokenCodec* const tokens_;
  const v1::ListFollowersRequest request_;
  const Requester who_;

  bool started_ = false;
  bool answered_ = false;
  int page_size_ = 0;
  ReadPlan plan_;
  ResumePoint start_;
  ResumePoint at_;  // The next edge to add.
  std::unique_ptr<SnapshotLease> lease_;  // Of at_.sequence_index.
  v1::ListFollowersResponse response_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_LIST_FOLLOWERS_SOURCE_H_
