#include "client/invite_format.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/json_text.h"

namespace followgate::cli {
namespace {

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

void AppendLine(EdgeFormat format, absl::string_view urn, v1::InvitationOutcome outcome,
                absl::string_view reason, const google::protobuf::Timestamp* invited_at,
                absl::string_view invited_by, std::string* out) {
  const std::string when = invited_at != nullptr ? Rfc3339(*invited_at) : "";
  if (format == EdgeFormat::kCsv) {
    AppendCsvField(urn, out);
    absl::StrAppend(out, ",", OutcomeName(outcome), ",");
    AppendCsvField(reason, out);
    absl::StrAppend(out, ",", when, ",");
    AppendCsvField(invited_by, out);
    out->push_back('\n');
    return;
  }
  out->append("{\"profileUrn\":");
  AppendJsonString(urn, out);
  absl::StrAppend(out, ",\"status\":\"", OutcomeName(outcome), "\"");
  if (!reason.empty()) {
    out->append(",\"reason\":");
    AppendJsonString(reason, out);
  }
  if (!when.empty()) absl::StrAppend(out, ",\"invitedAt\":\"", when, "\"");
  if (!invited_by.empty()) {
    out->append(",\"invitedByRequestId\":");
    AppendJsonString(invited_by, out);
  }
  out->append("}\n");
}

}  // namespace

absl::string_view OutcomeName(v1::InvitationOutcome outcome) {
  switch (outcome) {
    case v1::INVITATION_OUTCOME_SENT: return "SENT";
    case v1::INVITATION_OUTCOME_ALREADY_INVITED: return "ALREADY_INVITED";
    case v1::INVITATION_OUTCOME_FAILED: return "FAILED";
    case v1::INVITATION_OUTCOME_SKIPPED_DUPLICATE: return "SKIPPED_DUPLICATE";
    case v1::INVITATION_OUTCOME_SKIPPED_NO_CREDIT: return "SKIPPED_NO_CREDIT";
    case v1::INVITATION_OUTCOME_UNKNOWN: return "UNKNOWN";
    default: return "UNSPECIFIED";
  }
}

std::string FormatInviteHeader(EdgeFormat format) {
  return format == EdgeFormat::kCsv ? "profileUrn,status,reason,invitedAt,invitedByRequestId\n"
                                    : "";
}

void AppendProfileResult(EdgeFormat format, const v1::ProfileResult& result, std::string* out) {
  AppendLine(format, result.profile_urn(), result.outcome(), result.reason(),
             result.has_invite_time() ? &result.invite_time() : nullptr,
             result.invited_by_request_id(), out);
}

void AppendInvitation(EdgeFormat format, const v1::Invitation& invitation, std::string* out) {
  AppendLine(format, invitation.profile_urn(), invitation.outcome(), invitation.reason(),
             invitation.has_invite_time() ? &invitation.invite_time() : nullptr,
             invitation.request_id(), out);
}

absl::StatusOr<std::vector<std::string>> ReadProfilesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read --profiles_file ", path));
  std::vector<std::string> urns;
  std::string line;
  while (std::getline(in, line)) {
    const absl::string_view urn = absl::StripAsciiWhitespace(line);
    if (urn.empty() || urn[0] == '#') continue;
    urns.emplace_back(urn);
  }
  return urns;
}

}  // namespace followgate::cli
