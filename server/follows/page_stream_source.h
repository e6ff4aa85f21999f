// The pages of a StreamFollowers or StreamFollowing call, read step by step.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_PAGE_STREAM_SOURCE_H_
#define FOLLOWGATE_SERVER_FOLLOWS_PAGE_STREAM_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/message_source.h"
#include "server/follows/read_plan.h"
#include "server/follows/resume_token.h"
#include "server/follows/snapshot_hub.h"

namespace followgate {

// One message of a stream, serialized: a stored page followed by the
// stream's own fields, or a heartbeat. Parses as a FollowerPage or a
// FollowingPage.
struct PageBytes {
  std::string bytes;
  std::string resume_token;  // "" for a heartbeat.
  bool heartbeat = false;
};

// The plan's pages in order, each with its sequence number, last-page flag,
// upstream wait and resume token appended to the stored bytes, which are
// never decoded. A page still being fetched is kWait, with a heartbeat due
// `heartbeat_interval` after the wait began; the heartbeat carries the
// crawl's queue position and estimated wait. Errors: the crawl's,
// INVALID_ARGUMENT for a token of another query or one `tokens` did not
// sign, FAILED_PRECONDITION for a token whose snapshot is gone,
// RESOURCE_EXHAUSTED (BUDGET_HELD) from a heartbeat when the budget has no
// slot before the plan's deadline.
//
// The source holds a lease on the snapshot it reads (keeping its crawl
// going) until it is destroyed or moves past it. `hub`, `clock` and `tokens`
// are not owned and must outlive it.
class PageStreamSource final : public MessageSource<PageBytes> {
 public:
  PageStreamSource(SnapshotHub* hub, Clock* clock, absl::Duration heartbeat_interval,
                   const ResumeTokenCodec* tokens, ReadPlan plan);

  absl::StatusOr<SourceStep<PageBytes>> Next() override;
  std::unique_ptr<WatchHandle> Watch(std::function<void()> wake) override;
  absl::StatusOr<PageBytes> Heartbeat() override;

 private:
  PageBytes PageMessage(std::string stored, bool last);

  SnapshotHub* const hub_;
  Clock* const clock_;
  const absl::Duration heartbeat_interval_;
  const ResumeTokenCodec* const tokens_;
  const ReadPlan plan_;

  bool started_ = false;
  ResumePoint start_;
  int sequence_ = 0;         // Index into plan_.sequences.
  int64_t page_ = 0;         // The next page of that sequence's snapshot.
  int64_t stream_sequence_ = 0;
  std::unique_ptr<SnapshotLease> lease_;  // Of sequence_; null between sequences.
  absl::Time asked_;         // Since when the stream waits for page_.
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_PAGE_STREAM_SOURCE_H_
