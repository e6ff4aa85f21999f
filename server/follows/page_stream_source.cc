#include "server/follows/page_stream_source.h"

#include <optional>
#include <utility>

#include "followgate/v1/follows.pb.h"
#include "google/protobuf/util/time_util.h"
#include "server/base/status_macros.h"

namespace followgate {

using google::protobuf::util::TimeUtil;

PageStreamSource::PageStreamSource(SnapshotHub* hub, Clock* clock,
                                   absl::Duration heartbeat_interval,
                                   const ResumeTokenCodec* tokens, ReadPlan plan)
    : hub_(hub),
      clock_(clock),
      heartbeat_interval_(heartbeat_interval),
      tokens_(tokens),
      plan_(std::move(plan)) {}

absl::StatusOr<SourceStep<PageBytes>> PageStreamSource::Next() {
  using Step = SourceStep<PageBytes>;
  if (!started_) {
    FG_ASSIGN_OR_RETURN(start_, StartOf(*tokens_, plan_, "resume_token"));
    sequence_ = start_.sequence_index;
    stream_sequence_ = start_.stream_sequence;
    started_ = true;
  }
  const int sequences = static_cast<int>(plan_.sequences.size());
  while (sequence_ < sequences) {
    if (lease_ == nullptr) {
      FG_ASSIGN_OR_RETURN(lease_, LeaseFor(hub_, plan_, start_, sequence_));
      page_ = sequence_ == start_.sequence_index ? start_.page : 0;
      asked_ = clock_->Now();
    }
    FG_ASSIGN_OR_RETURN(SnapshotLease::PageWait wait, lease_->TryPage(page_));
    switch (wait.kind) {
      case SnapshotLease::PageWait::Kind::kTimeout: {
        Step step;
        step.kind = Step::Kind::kWait;
        step.heartbeat_at = clock_->Now() + heartbeat_interval_;
        return step;
      }
      case SnapshotLease::PageWait::Kind::kEnd:
        lease_.reset();
        ++sequence_;
        continue;
      case SnapshotLease::PageWait::Kind::kPage: {
        Step step;
        step.kind = Step::Kind::kMessage;
        step.message = PageMessage(std::move(wait.page), wait.last);
        ++page_;
        if (wait.last) {
          lease_.reset();
          ++sequence_;
        }
        return step;
      }
    }
  }
  return Step();  // kDone
}

PageBytes PageStreamSource::PageMessage(std::string stored, bool last) {
  ResumePoint next = start_;
  next.sequence_index = sequence_;
  next.snapshot_id = lease_->snapshot_id();
  next.page = page_ + 1;
  next.edge_offset = 0;
  next.stream_sequence = stream_sequence_ + 1;
  // The stream's own fields; FollowingPage numbers them alike.
  v1::FollowerPage fields;
  // What this stream waited for the page, not what its fetch waited.
  const absl::Time now = clock_->Now();
  *fields.mutable_upstream_wait() =
      TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(now - asked_));
  asked_ = now;
  fields.set_sequence_number(stream_sequence_++);
  fields.set_snapshot_id(lease_->snapshot_id());
  fields.set_last_page(last && sequence_ + 1 == static_cast<int>(plan_.sequences.size()));
  fields.set_resume_token(tokens_->Encode(next));
  PageBytes message;
  message.bytes = std::move(stored);
  fields.AppendToString(&message.bytes);
  message.resume_token = fields.resume_token();
  return message;
}

std::unique_ptr<WatchHandle> PageStreamSource::Watch(std::function<void()> wake) {
  if (lease_ == nullptr) {
    wake();
    return nullptr;
  }
  return lease_->WatchPage(page_, std::move(wake));
}

absl::StatusOr<PageBytes> PageStreamSource::Heartbeat() {
  v1::FollowerPage fields;
  v1::StreamHeartbeat* heartbeat = fields.mutable_heartbeat();
  if (lease_ != nullptr) {
    if (std::optional<QueuePosition> position = lease_->Position(); position.has_value()) {
      FG_RETURN_IF_ERROR(CheckSlotBeforeDeadline(*position, clock_->Now(), plan_.deadline));
      heartbeat->set_queue_position(position->ahead);
      *heartbeat->mutable_estimated_wait() = TimeUtil::NanosecondsToDuration(
          absl::ToInt64Nanoseconds(position->estimated_wait));
    }
  }
  PageBytes message;
  message.bytes = fields.SerializeAsString();
  message.heartbeat = true;
  return message;
}

}  // namespace followgate
