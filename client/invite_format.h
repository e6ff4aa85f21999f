// How the CLI prints invitation outcomes: JSON lines or CSV.
#ifndef FOLLOWGATE_CLIENT_INVITE_FORMAT_H_
#define FOLLOWGATE_CLIENT_INVITE_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/edge_format.h"
#include "followgate/v1/invitations.pb.h"

namespace followgate::cli {

// "SENT", "ALREADY_INVITED", ... (the enum name without its prefix).
absl::string_view OutcomeName(v1::InvitationOutcome outcome);

// The CSV header row (with its newline); "" for JSON lines.
std::string FormatInviteHeader(EdgeFormat format);

// Appends one line: profileUrn, status, reason (when any), invitedAt (RFC
// 3339, when known) and invitedByRequestId (when any).
void AppendProfileResult(EdgeFormat format, const v1::ProfileResult& result, std::string* out);
void AppendInvitation(EdgeFormat format, const v1::Invitation& invitation, std::string* out);

// Profile URNs from a file: one per line; blank lines and lines starting
// with '#' are skipped, surrounding whitespace trimmed.
absl::StatusOr<std::vector<std::string>> ReadProfilesFile(const std::string& path);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_INVITE_FORMAT_H_
