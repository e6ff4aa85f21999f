#include "server/sandbox/http_request_parser.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"

namespace followgate {
namespace sandbox {
namespace {

constexpr size_t kMaxMethodLength = 32;

// RFC 9110 "tchar": the characters allowed in a method or a field name.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
         absl::string_view::npos;
}

bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Visible ASCII only: no spaces, controls or raw non-ASCII bytes.
bool IsValidTarget(absl::string_view target) {
  if (target.empty() || target[0] != '/') return false;
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Field values may hold visible characters, SP, HTAB and obs-text bytes.
bool IsValidFieldValue(absl::string_view value) {
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

absl::Status ParseVersion(absl::string_view version) {
  if (version == "HTTP/1.1" || version == "HTTP/1.0") return absl::OkStatus();
  if (version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
      absl::ascii_isdigit(version[5]) && version[6] == '.' &&
      absl::ascii_isdigit(version[7])) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP version not supported: ", version));
  }
  return absl::InvalidArgumentError("malformed HTTP version");
}

absl::Status ParseRequestLine(absl::string_view line, HttpRequest* request) {
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError("malformed request line");
  }
  if (!IsToken(parts[0]) || parts[0].size() > kMaxMethodLength) {
    return absl::InvalidArgumentError("malformed method");
  }
  if (!IsValidTarget(parts[1])) {
    return absl::InvalidArgumentError("malformed request target");
  }
  if (absl::Status status = ParseVersion(parts[2]); !status.ok()) {
    return status;
  }
  request->method = std::string(parts[0]);
  request->target = std::string(parts[1]);
  request->version = std::string(parts[2]);
  const std::pair<absl::string_view, absl::string_view> path_query =
      absl::StrSplit(parts[1], absl::MaxSplits('?', 1));
  request->path = std::string(path_query.first);
  request->query = std::string(path_query.second);
  return absl::OkStatus();
}

absl::Status ParseHeaderLine(absl::string_view line, HttpRequest* request) {
  if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
    return absl::InvalidArgumentError("obsolete header line folding");
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("header line without ':'");
  }
  const absl::string_view name = line.substr(0, colon);
  if (!IsToken(name)) {
    return absl::InvalidArgumentError("malformed header name");
  }
  absl::string_view value = line.substr(colon + 1);
  value = absl::StripAsciiWhitespace(value);
  if (!IsValidFieldValue(value)) {
    return absl::InvalidArgumentError("control character in header value");
  }
  request->headers.push_back({std::string(name), std::string(value)});
  return absl::OkStatus();
}

bool HasConnectionOption(const HttpRequest& request, absl::string_view option) {
  for (const HttpHeader& header : request.headers) {
    if (!absl::EqualsIgnoreCase(header.name, "Connection")) continue;
    for (absl::string_view token : absl::StrSplit(header.value, ',')) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), option)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head) {
  if (head.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("NUL byte in request head");
  }
  const std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  HttpRequest request;
  for (absl::string_view line : lines) {
    if (line.find_first_of("\r\n") != absl::string_view::npos) {
      return absl::InvalidArgumentError("bare CR or LF in request head");
    }
  }
  if (absl::Status status = ParseRequestLine(lines[0], &request);
      !status.ok()) {
    return status;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    if (absl::Status status = ParseHeaderLine(lines[i], &request);
        !status.ok()) {
      return status;
    }
  }
  return request;
}

absl::StatusOr<size_t> RequestBodyLength(const HttpRequest& request) {
  if (request.FindHeader("Transfer-Encoding") != nullptr) {
    return absl::UnimplementedError("Transfer-Encoding is not supported");
  }
  absl::optional<size_t> length;
  for (const HttpHeader& header : request.headers) {
    if (!absl::EqualsIgnoreCase(header.name, "Content-Length")) continue;
    size_t value = 0;
    const bool digits_only =
        !header.value.empty() &&
        std::all_of(header.value.begin(), header.value.end(),
                    [](char c) { return absl::ascii_isdigit(c); });
    if (!digits_only || !absl::SimpleAtoi(header.value, &value)) {
      return absl::InvalidArgumentError("malformed Content-Length");
    }
    if (length.has_value() && *length != value) {
      return absl::InvalidArgumentError("conflicting Content-Length values");
    }
    length = value;
  }
  return length.value_or(0);
}

bool WantsKeepAlive(const HttpRequest& request) {
  if (request.version == "HTTP/1.0") {
    return HasConnectionOption(request, "keep-alive");
  }
  return !HasConnectionOption(request, "close");
}

int HttpStatusForParseError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kFailedPrecondition:
      return 505;
    default:
      return 400;
  }
}

}  // namespace sandbox
}  // namespace followgate
