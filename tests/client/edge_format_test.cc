#include "client/edge_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace followgate::cli {
namespace {

v1::FollowEdge Edge() {
  v1::FollowEdge edge;
  edge.mutable_follower()->set_urn("urn:li:person:-f_Ut43FoQ");
  edge.mutable_follower()->set_kind(v1::FOLLOWER_KIND_MEMBER);
  edge.set_followee("urn:li:organizationalPage:123456");
  edge.set_edge_type(v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  edge.mutable_last_modified_time()->set_seconds(1701259792);
  edge.mutable_last_modified_time()->set_nanos(468000000);
  return edge;
}

TEST(EdgeFormat, JsonLineUsesLinkedInsFieldNamesAndEpochMillis) {
  std::string out;
  AppendEdge(EdgeFormat::kJsonLines, Edge(), &out);
  EXPECT_EQ(out,
            "{\"follower\":\"urn:li:person:-f_Ut43FoQ\",\"followee\":"
            "\"urn:li:organizationalPage:123456\",\"edgeType\":"
            "\"MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE\",\"lastModifiedAt\":1701259792468,"
            "\"followerKind\":\"MEMBER\"}\n");
}

TEST(EdgeFormat, JsonEscapesAndOmitsUnknownTime) {
  v1::FollowEdge edge = Edge();
  edge.clear_last_modified_time();
  edge.mutable_follower()->set_urn("a\"b\\c\x01");
  std::string out;
  AppendEdge(EdgeFormat::kJsonLines, edge, &out);
  EXPECT_THAT(out, ::testing::HasSubstr(R"("follower":"a\"b\\c\u0001")"));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("lastModifiedAt")));
}

TEST(EdgeFormat, CsvHasAHeaderAndQuotesWhenNeeded) {
  EXPECT_EQ(FormatHeader(EdgeFormat::kCsv),
            "follower,followee,edgeType,lastModifiedAt,followerKind\n");
  EXPECT_EQ(FormatHeader(EdgeFormat::kJsonLines), "");
  v1::FollowEdge edge = Edge();
  std::string out;
  AppendEdge(EdgeFormat::kCsv, edge, &out);
  EXPECT_EQ(out,
            "urn:li:person:-f_Ut43FoQ,urn:li:organizationalPage:123456,"
            "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE,1701259792468,MEMBER\n");
  edge.mutable_follower()->set_urn("a,\"b\"");
  out.clear();
  AppendEdge(EdgeFormat::kCsv, edge, &out);
  EXPECT_THAT(out, ::testing::StartsWith("\"a,\"\"b\"\"\","));
}

TEST(EdgeFormat, ParsesFormatNames) {
  EXPECT_EQ(*ParseEdgeFormat("jsonl"), EdgeFormat::kJsonLines);
  EXPECT_EQ(*ParseEdgeFormat("csv"), EdgeFormat::kCsv);
  EXPECT_FALSE(ParseEdgeFormat("xml").ok());
}

}  // namespace
}  // namespace followgate::cli
