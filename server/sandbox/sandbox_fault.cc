#include "server/sandbox/sandbox_fault.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace followgate {
namespace sandbox {
namespace {

constexpr int64_t kMaxDelayMs = 600000;

// The integer at `key` if it is present, integral and within [low, high].
absl::StatusOr<int64_t> IntegerField(const nlohmann::json& object,
                                     const char* key, int64_t low,
                                     int64_t high) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' must be an integer"));
  }
  const int64_t value = it->get<int64_t>();
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' must be in ", low, "..", high));
  }
  return value;
}

absl::StatusOr<SandboxFault> ParseFault(const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("a fault must be a JSON object");
  }
  const auto kind = object.find("kind");
  if (kind == object.end() || !kind->is_string()) {
    return absl::InvalidArgumentError("'kind' must be a string");
  }
  const std::string name = kind->get<std::string>();
  if (name == "truncate") return SandboxFault::Truncate();
  if (name == "reset") return SandboxFault::Reset();
  if (name == "lost") return SandboxFault::Lost();
  if (name == "status") {
    absl::StatusOr<int64_t> status = IntegerField(object, "status", 400, 599);
    if (!status.ok()) return status.status();
    return SandboxFault::Status(static_cast<int>(*status));
  }
  if (name == "echo_credentials") {
    if (!object.contains("status")) return SandboxFault::EchoCredentials(401);
    absl::StatusOr<int64_t> status = IntegerField(object, "status", 400, 599);
    if (!status.ok()) return status.status();
    return SandboxFault::EchoCredentials(static_cast<int>(*status));
  }
  if (name == "slow") {
    absl::StatusOr<int64_t> delay_ms =
        IntegerField(object, "delay_ms", 0, kMaxDelayMs);
    if (!delay_ms.ok()) return delay_ms.status();
    return SandboxFault::Slow(absl::Milliseconds(*delay_ms));
  }
  if (name == "retry_after") {
    absl::StatusOr<int64_t> seconds = IntegerField(object, "seconds", 0, 999999999);
    if (!seconds.ok()) return seconds.status();
    return SandboxFault::RetryAfter(*seconds);
  }
  if (name == "repeat_cursor") return SandboxFault::RepeatCursor();
  if (name == "oversized_page") {
    absl::StatusOr<int64_t> elements = IntegerField(object, "elements", 1, 1000000);
    if (!elements.ok()) return elements.status();
    return SandboxFault::OversizedPage(*elements);
  }
  if (name == "bad_timestamp") {
    absl::StatusOr<int64_t> value = IntegerField(object, "last_modified_at", INT64_MIN, INT64_MAX);
    if (!value.ok()) return value.status();
    return SandboxFault::BadTimestamp(*value);
  }
  return absl::InvalidArgumentError(
      "'kind' must be one of status, truncate, reset, slow, lost, retry_after, "
      "repeat_cursor, oversized_page, bad_timestamp, echo_credentials");
}

}  // namespace

SandboxFault SandboxFault::Status(int status) {
  SandboxFault fault;
  fault.kind = Kind::kStatus;
  fault.status = status;
  return fault;
}

SandboxFault SandboxFault::Truncate() {
  SandboxFault fault;
  fault.kind = Kind::kTruncate;
  return fault;
}

SandboxFault SandboxFault::Reset() {
  SandboxFault fault;
  fault.kind = Kind::kReset;
  return fault;
}

SandboxFault SandboxFault::Slow(absl::Duration delay) {
  SandboxFault fault;
  fault.kind = Kind::kSlow;
  fault.delay = delay;
  return fault;
}

SandboxFault SandboxFault::Lost() {
  SandboxFault fault;
  fault.kind = Kind::kLost;
  return fault;
}

SandboxFault SandboxFault::RetryAfter(int64_t seconds) {
  SandboxFault fault;
  fault.kind = Kind::kRetryAfter;
  fault.status = 429;
  fault.value = seconds;
  return fault;
}

SandboxFault SandboxFault::RepeatCursor() {
  SandboxFault fault;
  fault.kind = Kind::kRepeatCursor;
  return fault;
}

SandboxFault SandboxFault::OversizedPage(int64_t elements) {
  SandboxFault fault;
  fault.kind = Kind::kOversizedPage;
  fault.value = elements;
  return fault;
}

SandboxFault SandboxFault::BadTimestamp(int64_t last_modified_at) {
  SandboxFault fault;
  fault.kind = Kind::kBadTimestamp;
  fault.value = last_modified_at;
  return fault;
}

SandboxFault SandboxFault::EchoCredentials(int status) {
  SandboxFault fault;
  fault.kind = Kind::kEchoCredentials;
  fault.status = status;
  return fault;
}

std::string EchoedCredentialsText(absl::string_view authorization) {
  const size_t space = authorization.find(' ');
  const absl::string_view credential =
      space == absl::string_view::npos ? authorization : authorization.substr(space + 1);
  return absl::StrCat("bad token ", authorization, " (credential: ", credential, ")");
}

absl::StatusOr<std::vector<SandboxFault>> ParseSandboxFaults(
    absl::string_view json) {
  const nlohmann::json parsed = nlohmann::json::parse(
      json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return absl::InvalidArgumentError("faults must be a JSON array");
  }
  std::vector<SandboxFault> faults;
  for (size_t i = 0; i < parsed.size(); ++i) {
    absl::StatusOr<SandboxFault> fault = ParseFault(parsed[i]);
    if (!fault.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault ", i, ": ", fault.status().message()));
    }
    faults.push_back(*fault);
  }
  return faults;
}

}  // namespace sandbox
}  // namespace followgate
