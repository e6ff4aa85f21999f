#include "server/follows/list_followers_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/error_details.h"
#include "server/base/status_macros.h"

namespace followgate {
namespace {

constexpr int kDefaultListPageSize = 1000;
constexpr int kMaxListPageSize = 10000;

}  // namespace

ListFollowersSource::ListFollowersSource(SnapshotHub* hub, const ResumeTokenCodec* tokens,
                                         v1::ListFollowersRequest request, Requester who)
    : hub_(hub), tokens_(tokens), request_(std::move(request)), who_(std::move(who)) {}

absl::Status ListFollowersSource::Start() {
  if (request_.page_size() < 0) {
    return InvalidField("page_size", "page_size must not be negative");
  }
  page_size_ = request_.page_size() == 0 ? kDefaultListPageSize
                                         : std::min(request_.page_size(), kMaxListPageSize);
  v1::StreamFollowersRequest as_stream;
  as_stream.set_followee(request_.followee());
  as_stream.set_follower_filter(request_.follower_filter());
  if (request_.has_max_staleness()) *as_stream.mutable_max_staleness() = request_.max_staleness();
  FG_ASSIGN_OR_RETURN(plan_, PlanFor(as_stream));
  plan_.description = DescribeRead("list", plan_.sequences);
  plan_.who = who_;
  plan_.resume_token = request_.page_token();
  FG_ASSIGN_OR_RETURN(start_, StartOf(*tokens_, plan_, "page_token"));
  at_ = start_;
  started_ = true;
  return absl::OkStatus();
}

absl::StatusOr<SourceStep<v1::ListFollowersResponse>> ListFollowersSource::Next() {
  using Step = SourceStep<v1::ListFollowersResponse>;
  if (answered_) return Step();  // kDone
  if (!started_) FG_RETURN_IF_ERROR(Start());
  const int sequences = static_cast<int>(plan_.sequences.size());
  while (at_.sequence_index < sequences) {
    const int i = at_.sequence_index;
    if (lease_ == nullptr) {
      FG_ASSIGN_OR_RETURN(lease_, LeaseFor(hub_, plan_, start_, i));
      at_.snapshot_id = lease_->snapshot_id();
      if (i != start_.sequence_index) at_.page = at_.edge_offset = 0;
    }
    FG_ASSIGN_OR_RETURN(SnapshotLease::PageWait wait, lease_->TryPage(at_.page));
    if (wait.kind == SnapshotLease::PageWait::Kind::kTimeout) {
      Step step;
      step.kind = Step::Kind::kWait;
      return step;
    }
    bool sequence_ended = wait.kind == SnapshotLease::PageWait::Kind::kEnd;
    if (!sequence_ended) {
      v1::FollowerPage page;
      if (!page.ParseFromString(wait.page)) {
        return absl::DataLossError(absl::StrCat("page ", at_.page, " of snapshot ",
                                                at_.snapshot_id, " is corrupt"));
      }
      while (at_.edge_offset < page.edges_size() && response_.edges_size() < page_size_) {
        *response_.add_edges() = std::move(*page.mutable_edges(at_.edge_offset++));
      }
      const bool page_used_up = at_.edge_offset >= page.edges_size();
      if (page_used_up) {
        ++at_.page;
        at_.edge_offset = 0;
      }
      if (response_.edges_size() >= page_size_) {
        const bool nothing_after = page_used_up && wait.last && i + 1 == sequences;
        if (!nothing_after) response_.set_next_page_token(tokens_->Encode(at_));
        break;
      }
      sequence_ended = page_used_up && wait.last;
    }
    if (sequence_ended) {
      lease_.reset();
      ++at_.sequence_index;
    }
  }
  lease_.reset();
  answered_ = true;
  Step step;
  step.kind = Step::Kind::kMessage;
  step.message = std::move(response_);
  return step;
}

std::unique_ptr<WatchHandle> ListFollowersSource::Watch(std::function<void()> wake) {
  if (lease_ == nullptr) {
    wake();
    return nullptr;
  }
  return lease_->WatchPage(at_.page, std::move(wake));
}

}  // namespace followgate
