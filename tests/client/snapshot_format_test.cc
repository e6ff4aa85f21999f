#include "client/snapshot_format.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace followgate::cli {
namespace {

using google::protobuf::util::TimeUtil;

v1::Snapshot ASnapshot(bool complete) {
  v1::Snapshot s;
  s.set_snapshot_id(12);
  s.set_edge_type(v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  s.set_complete(complete);
  *s.mutable_start_time() = TimeUtil::SecondsToTimestamp(1764633600);  // 2025-12-02
  if (complete) *s.mutable_complete_time() = TimeUtil::SecondsToTimestamp(1764633660);
  s.set_page_count(3);
  s.set_stored_bytes(4096);
  return s;
}

v1::FollowChange AChange(v1::FollowChangeType type) {
  v1::FollowChange change;
  change.set_change_type(type);
  v1::FollowEdge* edge = change.mutable_edge();
  edge->mutable_follower()->set_urn("urn:li:person:abc");
  edge->mutable_follower()->set_kind(v1::FOLLOWER_KIND_MEMBER);
  edge->set_followee("urn:li:organizationalPage:42");
  edge->set_edge_type(v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  return change;
}

TEST(SnapshotFormat, JsonLinesNameTheIdAsAStringAndOmitCompleteTimeInProgress) {
  std::string out;
  AppendSnapshot(EdgeFormat::kJsonLines, ASnapshot(true), &out);
  AppendSnapshot(EdgeFormat::kJsonLines, ASnapshot(false), &out);
  EXPECT_EQ(out,
            "{\"snapshotId\":\"12\",\"edgeType\":\"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE\","
            "\"complete\":true,\"startTime\":\"2025-12-02T00:00:00.000000Z\","
            "\"completeTime\":\"2025-12-02T00:01:00.000000Z\",\"pageCount\":3,"
            "\"storedBytes\":4096}\n"
            "{\"snapshotId\":\"12\",\"edgeType\":\"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE\","
            "\"complete\":false,\"startTime\":\"2025-12-02T00:00:00.000000Z\","
            "\"pageCount\":3,\"storedBytes\":4096}\n");
  EXPECT_EQ(FormatSnapshotHeader(EdgeFormat::kJsonLines), "");
}

TEST(SnapshotFormat, CsvHasAHeaderAndAnEmptyCompleteTimeInProgress) {
  std::string out = FormatSnapshotHeader(EdgeFormat::kCsv);
  AppendSnapshot(EdgeFormat::kCsv, ASnapshot(false), &out);
  EXPECT_EQ(out,
            "snapshotId,edgeType,complete,startTime,completeTime,pageCount,storedBytes\n"
            "12,MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE,false,2025-12-02T00:00:00.000000Z,,3,4096\n");
}

TEST(ChangeFormat, JsonLinesPutChangeTypeBeforeTheEdgesFields) {
  std::string out;
  AppendChange(EdgeFormat::kJsonLines, AChange(v1::FOLLOW_CHANGE_TYPE_UNFOLLOWED), &out);
  EXPECT_EQ(out,
            "{\"changeType\":\"UNFOLLOWED\",\"follower\":\"urn:li:person:abc\","
            "\"followee\":\"urn:li:organizationalPage:42\","
            "\"edgeType\":\"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE\",\"followerKind\":\"MEMBER\"}\n");
}

TEST(ChangeFormat, CsvHasAChangeTypeColumnFirst) {
  std::string out = FormatChangeHeader(EdgeFormat::kCsv);
  AppendChange(EdgeFormat::kCsv, AChange(v1::FOLLOW_CHANGE_TYPE_FOLLOWED), &out);
  EXPECT_EQ(out,
            "changeType,follower,followee,edgeType,lastModifiedAt,followerKind\n"
            "FOLLOWED,urn:li:person:abc,urn:li:organizationalPage:42,"
            "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE,,MEMBER\n");
}

TEST(SnapshotColumns, FollowTheEdgesColumnsInCsvAndJsonLines) {
  const v1::FollowEdge edge = AChange(v1::FOLLOW_CHANGE_TYPE_FOLLOWED).edge();
  const auto fetched = TimeUtil::SecondsToTimestamp(1764633600);
  std::string csv = FormatHeaderWithSnapshot(EdgeFormat::kCsv);
  AppendEdgeWithSnapshot(EdgeFormat::kCsv, edge, 12, fetched, &csv);
  EXPECT_EQ(csv,
            "follower,followee,edgeType,lastModifiedAt,followerKind,snapshotId,fetchTime\n"
            "urn:li:person:abc,urn:li:organizationalPage:42,MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE,,"
            "MEMBER,12,2025-12-02T00:00:00.000000Z\n");
  std::string jsonl;
  AppendEdgeWithSnapshot(EdgeFormat::kJsonLines, edge, 12, fetched, &jsonl);
  EXPECT_EQ(jsonl,
            "{\"follower\":\"urn:li:person:abc\",\"followee\":\"urn:li:organizationalPage:42\","
            "\"edgeType\":\"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE\",\"followerKind\":\"MEMBER\","
            "\"snapshotId\":\"12\",\"fetchTime\":\"2025-12-02T00:00:00.000000Z\"}\n");
}

}  // namespace
}  // namespace followgate::cli
