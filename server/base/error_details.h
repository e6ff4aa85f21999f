// Machine-readable error details (google.rpc) carried on absl::Status.
#ifndef FOLLOWGATE_SERVER_BASE_ERROR_DETAILS_H_
#define FOLLOWGATE_SERVER_BASE_ERROR_DETAILS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate {

// The domain of every ErrorInfo followgate sends.
inline constexpr absl::string_view kErrorDomain = "followgate.dev";

// Attaches google.rpc.ErrorInfo (reason: a stable UPPER_SNAKE_CASE word
// documented in the README; domain kErrorDomain). Replaces an earlier one.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});
// Adds one metadata entry to the status's ErrorInfo (making one with the
// code's name as reason if it has none).
absl::Status WithErrorMetadata(absl::Status status, absl::string_view key,
                               absl::string_view value);
// Attaches google.rpc.RetryInfo: retry after `delay`.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// A caller's value quoted for an error message, cut after 80 characters.
std::string QuoteForMessage(absl::string_view value);

// INVALID_ARGUMENT with `message`, a google.rpc.BadRequest field violation
// for `field`, and ErrorInfo reason INVALID_FIELD.
absl::Status InvalidField(absl::string_view field, absl::string_view message);

// `status` with another message, keeping its code and every payload.
absl::Status RewordStatus(const absl::Status& status, absl::string_view message);

// The reason of the status's ErrorInfo, if it has one.
std::optional<std::string> ErrorReason(const absl::Status& status);
// The value of `key` in the status's ErrorInfo metadata, if it has one.
std::optional<std::string> ErrorMetadata(const absl::Status& status, absl::string_view key);
// The delay of the status's RetryInfo, if it has one.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// The status as a log line says it: "CODE (REASON, retry in D): message",
// without the serialized payloads that absl::Status::ToString() prints.
std::string StatusForLog(const absl::Status& status);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_ERROR_DETAILS_H_
