#include "client/edge_format.h"

#include "absl/strings/str_cat.h"
#include "client/json_text.h"
#include "google/protobuf/util/time_util.h"

namespace followgate::cli {
namespace {

absl::string_view KindName(v1::FollowerKind kind) {
  switch (kind) {
    case v1::FOLLOWER_KIND_MEMBER:
      return "MEMBER";
    case v1::FOLLOWER_KIND_OBFUSCATED_MEMBER:
      return "OBFUSCATED_MEMBER";
    case v1::FOLLOWER_KIND_ORGANIZATIONAL_PAGE:
      return "ORGANIZATIONAL_PAGE";
    default:
      return "";
  }
}

}  // namespace

absl::string_view EdgeTypeName(v1::FollowEdgeType type) {
  switch (type) {
    case v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE:
      return "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE";
    case v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE:
      return "ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE";
    default:
      return "";
  }
}

absl::StatusOr<EdgeFormat> ParseEdgeFormat(absl::string_view name) {
  if (name == "jsonl") return EdgeFormat::kJsonLines;
  if (name == "csv") return EdgeFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--format must be jsonl or csv, got \"", name, "\""));
}

std::string FormatHeader(EdgeFormat format) {
  return format == EdgeFormat::kCsv
             ? "follower,followee,edgeType,lastModifiedAt,followerKind\n"
             : "";
}

void AppendEdge(EdgeFormat format, const v1::FollowEdge& edge, std::string* out) {
  const bool has_time = edge.has_last_modified_time();
  const int64_t millis =
      google::protobuf::util::TimeUtil::TimestampToMilliseconds(edge.last_modified_time());
  if (format == EdgeFormat::kCsv) {
    AppendCsvField(edge.follower().urn(), out);
    out->push_back(',');
    AppendCsvField(edge.followee(), out);
    absl::StrAppend(out, ",", EdgeTypeName(edge.edge_type()), ",");
    if (has_time) absl::StrAppend(out, millis);
    absl::StrAppend(out, ",", KindName(edge.follower().kind()), "\n");
    return;
  }
  out->append("{\"follower\":");
  AppendJsonString(edge.follower().urn(), out);
  out->append(",\"followee\":");
  AppendJsonString(edge.followee(), out);
  absl::StrAppend(out, ",\"edgeType\":\"", EdgeTypeName(edge.edge_type()), "\"");
  if (has_time) absl::StrAppend(out, ",\"lastModifiedAt\":", millis);
  absl::StrAppend(out, ",\"followerKind\":\"", KindName(edge.follower().kind()), "\"}\n");
}

}  // namespace followgate::cli
