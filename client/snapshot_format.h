// How the CLI prints snapshots (`snapshots`) and changes (`changes`): JSON
// lines or CSV, one row per line, as edge_format.h prints edges.
#ifndef FOLLOWGATE_CLIENT_SNAPSHOT_FORMAT_H_
#define FOLLOWGATE_CLIENT_SNAPSHOT_FORMAT_H_

#include <string>

#include "client/edge_format.h"
#include "followgate/v1/follows.pb.h"

namespace followgate::cli {

// The CSV header rows (with their newline); "" for JSON lines.
std::string FormatSnapshotHeader(EdgeFormat format);
std::string FormatChangeHeader(EdgeFormat format);

// One snapshot: snapshotId, edgeType, complete, startTime and completeTime
// (RFC 3339, UTC; completeTime omitted or empty while in progress),
// pageCount, storedBytes.
void AppendSnapshot(EdgeFormat format, const v1::Snapshot& snapshot, std::string* out);

// One change: changeType (FOLLOWED or UNFOLLOWED), then the edge's columns
// as AppendEdge prints them.
void AppendChange(EdgeFormat format, const v1::FollowChange& change, std::string* out);

// With --snapshot_columns: the edge header with snapshotId,fetchTime after
// the edge's columns, and one edge row with them (snapshotId a string in
// JSON lines; fetchTime RFC 3339, UTC).
std::string FormatHeaderWithSnapshot(EdgeFormat format);
void AppendEdgeWithSnapshot(EdgeFormat format, const v1::FollowEdge& edge, int64_t snapshot_id,
                            const google::protobuf::Timestamp& fetch_time, std::string* out);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_SNAPSHOT_FORMAT_H_
