// How the CLI prints follow edges: JSON lines or CSV, one edge per line.
#ifndef FOLLOWGATE_CLIENT_EDGE_FORMAT_H_
#define FOLLOWGATE_CLIENT_EDGE_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "followgate/v1/follows.pb.h"

namespace followgate::cli {

enum class EdgeFormat { kJsonLines, kCsv };

// "jsonl" or "csv"; INVALID_ARGUMENT otherwise.
absl::StatusOr<EdgeFormat> ParseEdgeFormat(absl::string_view name);

// LinkedIn's name of an edge type ("MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE"), as
// the output's edgeType column shows it; "" when unspecified.
absl::string_view EdgeTypeName(v1::FollowEdgeType type);

// The CSV header row (with its newline); "" for JSON lines.
std::string FormatHeader(EdgeFormat format);

// Appends one edge and a newline to `out`, with LinkedIn's field names:
// follower, followee, edgeType (LinkedIn's enum name), lastModifiedAt (epoch
// milliseconds; omitted or empty when unknown), then followerKind (MEMBER,
// OBFUSCATED_MEMBER or ORGANIZATIONAL_PAGE).
void AppendEdge(EdgeFormat format, const v1::FollowEdge& edge, std::string* out);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_EDGE_FORMAT_H_
