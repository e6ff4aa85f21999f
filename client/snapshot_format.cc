#include "client/snapshot_format.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"

namespace followgate::cli {
namespace {

std::string TimeText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E6SZ",
      absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(t)),
      absl::UTCTimeZone());
}

absl::string_view ChangeTypeName(v1::FollowChangeType type) {
  switch (type) {
    case v1::FOLLOW_CHANGE_TYPE_FOLLOWED:
      return "FOLLOWED";
    case v1::FOLLOW_CHANGE_TYPE_UNFOLLOWED:
      return "UNFOLLOWED";
    default:
      return "";
  }
}

}  // namespace

std::string FormatSnapshotHeader(EdgeFormat format) {
  return format == EdgeFormat::kCsv
             ? "snapshotId,edgeType,complete,startTime,completeTime,pageCount,storedBytes\n"
             : "";
}

std::string FormatChangeHeader(EdgeFormat format) {
  return format == EdgeFormat::kCsv ? absl::StrCat("changeType,", FormatHeader(format)) : "";
}

void AppendSnapshot(EdgeFormat format, const v1::Snapshot& s, std::string* out) {
  const std::string start = TimeText(s.start_time());
  const std::string done = s.has_complete_time() ? TimeText(s.complete_time()) : "";
  if (format == EdgeFormat::kCsv) {
    absl::StrAppend(out, s.snapshot_id(), ",", EdgeTypeName(s.edge_type()), ",",
                    s.complete() ? "true" : "false", ",", start, ",", done, ",", s.page_count(),
                    ",", s.stored_bytes(), "\n");
    return;
  }
  // The id as a string, as proto3 JSON writes an int64.
  absl::StrAppend(out, "{\"snapshotId\":\"", s.snapshot_id(), "\",\"edgeType\":\"",
                  EdgeTypeName(s.edge_type()), "\",\"complete\":",
                  s.complete() ? "true" : "false", ",\"startTime\":\"", start, "\"");
  if (!done.empty()) absl::StrAppend(out, ",\"completeTime\":\"", done, "\"");
  absl::StrAppend(out, ",\"pageCount\":", s.page_count(), ",\"storedBytes\":", s.stored_bytes(),
                  "}\n");
}

void AppendChange(EdgeFormat format, const v1::FollowChange& change, std::string* out) {
  std::string edge;
  AppendEdge(format, change.edge(), &edge);
  if (format == EdgeFormat::kCsv) {
    absl::StrAppend(out, ChangeTypeName(change.change_type()), ",", edge);
    return;
  }
  // The edge's object with changeType first.
  absl::StrAppend(out, "{\"changeType\":\"", ChangeTypeName(change.change_type()), "\",",
                  absl::string_view(edge).substr(1));
}

std::string FormatHeaderWithSnapshot(EdgeFormat format) {
  std::string header = FormatHeader(format);
  if (format == EdgeFormat::kCsv) header.insert(header.size() - 1, ",snapshotId,fetchTime");
  return header;
}

void AppendEdgeWithSnapshot(EdgeFormat format, const v1::FollowEdge& edge, int64_t snapshot_id,
                            const google::protobuf::Timestamp& fetch_time, std::string* out) {
  std::string row;
  AppendEdge(format, edge, &row);
  row.pop_back();  // The newline, and in JSON lines the closing brace.
  if (format == EdgeFormat::kCsv) {
    absl::StrAppend(out, row, ",", snapshot_id, ",", TimeText(fetch_time), "\n");
    return;
  }
  row.pop_back();
  absl::StrAppend(out, row, ",\"snapshotId\":\"", snapshot_id, "\",\"fetchTime\":\"",
                  TimeText(fetch_time), "\"}\n");
}

}  // namespace followgate::cli
