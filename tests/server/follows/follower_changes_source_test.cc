#include "server/follows/follower_changes_source.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "server/follows/follows_requests.h"
#include "server/follows/snapshot_hub.h"
#include "server/follows/snapshot_streams.h"
#include "server/follows/sqlite_snapshot_store.h"
#include "server/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kPage[] = "urn:li:organizationalPage:42";

// Key of the members' (or pages') sequence of kPage.
std::string KeyOf(v1::FollowerFilter filter) {
  v1::StreamFollowersRequest request;
  request.set_followee(kPage);
  request.set_follower_filter(filter);
  auto sequences = SequencesFor(request);
  EXPECT_THAT(sequences, IsOk());
  return SnapshotQueryKey(sequences->at(0));
}

class FollowerChangesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteSnapshotStore::Open("", &clock_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  // A complete one-page snapshot of `key` holding members `m<i>` for `ids`.
  int64_t Snapshot(const std::vector<int>& ids,
                   v1::FollowerFilter filter = v1::FOLLOWER_FILTER_MEMBERS) {
    clock_.Advance(absl::Hours(1));
    auto info = store_->Create(KeyOf(filter));
    EXPECT_THAT(info, IsOk());
    v1::FollowerPage page;
    for (int id : ids) {
      v1::FollowEdge* edge = page.add_edges();
      edge->mutable_follower()->set_urn(absl::StrCat("urn:li:person:m", id));
      edge->set_followee(kPage);
    }
    EXPECT_THAT(store_->AppendPage(info->id, 0, page.SerializeAsString(), ""), IsOk());
    return info->id;
  }

  struct Result {
    absl::Status status;
    std::set<std::string> followed, unfollowed;
    std::vector<v1::FollowerChangesPage> pages;
  };

  Result Changes(const v1::StreamFollowerChangesRequest& request) {
    Result result;
    CancellationToken never;
    result.status = StreamFollowerChanges(store_.get(), request, never,
                                          [&](v1::FollowerChangesPage page) {
                                            for (const auto& change : page.changes()) {
                                              (change.change_type() ==
                                                       v1::FOLLOW_CHANGE_TYPE_FOLLOWED
                                                   ? result.followed
                                                   : result.unfollowed)
                                                  .insert(change.edge().follower().urn());
                                            }
                                            result.pages.push_back(std::move(page));
                                            return absl::OkStatus();
                                          });
    return result;
  }

  v1::StreamFollowerChangesRequest Members() {
    v1::StreamFollowerChangesRequest request;
    request.set_followee(kPage);
    request.set_follower_filter(v1::FOLLOWER_FILTER_MEMBERS);
    return request;
  }

  FakeClock clock_;
  std::unique_ptr<SnapshotStore> store_;
};

TEST_F(FollowerChangesSourceTest, ByDefaultComparesTheTwoNewestAndNamesTheirIds) {
  Snapshot({1, 2});
  const int64_t older = Snapshot({1, 3});
  const int64_t newer = Snapshot({3, 4});
  Result result = Changes(Members());
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.followed, std::set<std::string>{"urn:li:person:m4"});
  EXPECT_EQ(result.unfollowed, std::set<std::string>{"urn:li:person:m1"});
  EXPECT_EQ(result.pages.front().from_snapshot_id(), older);
  EXPECT_EQ(result.pages.front().to_snapshot_id(), newer);
}

TEST_F(FollowerChangesSourceTest, ComparesNonAdjacentSnapshotsChosenById) {
  const int64_t first = Snapshot({1, 2});
  Snapshot({1, 3});
  const int64_t third = Snapshot({3, 4});
  Snapshot({5});
  v1::StreamFollowerChangesRequest request = Members();
  request.set_from_snapshot_id(first);
  request.set_to_snapshot_id(third);
  Result result = Changes(request);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.followed, (std::set<std::string>{"urn:li:person:m3", "urn:li:person:m4"}));
  EXPECT_EQ(result.unfollowed, (std::set<std::string>{"urn:li:person:m1", "urn:li:person:m2"}));
  EXPECT_EQ(result.pages.front().from_snapshot_id(), first);
  EXPECT_EQ(result.pages.front().to_snapshot_id(), third);
}

TEST_F(FollowerChangesSourceTest, FromTimeIsTheNewestCompletedAtOrBeforeIt) {
  const int64_t first = Snapshot({1});
  const absl::Time after_first = clock_.Now() + absl::Minutes(30);
  Snapshot({1, 2});
  Snapshot({1, 2, 3});
  v1::StreamFollowerChangesRequest request = Members();
  *request.mutable_from_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(after_first));
  Result result = Changes(request);
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.followed, (std::set<std::string>{"urn:li:person:m2", "urn:li:person:m3"}));
  EXPECT_EQ(result.pages.front().from_snapshot_id(), first);

  *request.mutable_from_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(absl::UnixEpoch()));
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("from_time")));
}

TEST_F(FollowerChangesSourceTest, FromNotOlderThanToIsInvalidArgument) {
  const int64_t first = Snapshot({1});
  const int64_t second = Snapshot({2});
  v1::StreamFollowerChangesRequest request = Members();
  request.set_from_snapshot_id(second);
  request.set_to_snapshot_id(first);
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from_snapshot_id")));
  request.set_to_snapshot_id(second);
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from_snapshot_id")));
}

TEST_F(FollowerChangesSourceTest, AnIdOfAnotherQueryIsInvalidArgument) {
  Snapshot({1});
  const int64_t newest = Snapshot({2});
  const int64_t pages = Snapshot({3}, v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES);
  v1::StreamFollowerChangesRequest request = Members();
  request.set_from_snapshot_id(newest);
  request.set_to_snapshot_id(pages);
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("to_snapshot_id: snapshot ", pages))));
}

TEST_F(FollowerChangesSourceTest, AnIdNoLongerRetainedIsNotFoundNamingIt) {
  const int64_t gone = Snapshot({1});
  Snapshot({2});
  Snapshot({3});
  ASSERT_THAT(store_->Prune({absl::Minutes(90), int64_t{1} << 30}, {}), IsOk());
  v1::StreamFollowerChangesRequest request = Members();
  request.set_from_snapshot_id(gone);
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(absl::StrCat("from_snapshot_id: snapshot ", gone))));
}

TEST_F(FollowerChangesSourceTest, IdsWithBothSequencesAreInvalidArgument) {
  const int64_t first = Snapshot({1});
  v1::StreamFollowerChangesRequest request = Members();
  request.set_follower_filter(v1::FOLLOWER_FILTER_ALL);
  request.set_from_snapshot_id(first);
  EXPECT_THAT(Changes(request).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("follower_filter")));
}

}  // namespace
}  // namespace followgate
