#include "server/base/error_details.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace followgate {
namespace {

constexpr absl::string_view kErrorInfoUrl = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr absl::string_view kRetryInfoUrl = "type.googleapis.com/google.rpc.RetryInfo";
constexpr absl::string_view kBadRequestUrl = "type.googleapis.com/google.rpc.BadRequest";

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorInfoUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

absl::Status WithPayload(absl::Status status, absl::string_view url,
                         const google::protobuf::Message& message) {
  status.SetPayload(url, absl::Cord(message.SerializeAsString()));
  return status;
}

}  // namespace

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  return WithPayload(std::move(status), kErrorInfoUrl, info);
}

absl::Status WithErrorMetadata(absl::Status status, absl::string_view key,
                               absl::string_view value) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info = ErrorInfoOf(status).value_or(google::rpc::ErrorInfo());
  if (info.reason().empty()) {
    info.set_reason(absl::StatusCodeToString(status.code()));
    info.set_domain(std::string(kErrorDomain));
  }
  (*info.mutable_metadata())[std::string(key)] = std::string(value);
  return WithPayload(std::move(status), kErrorInfoUrl, info);
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  google::rpc::RetryInfo info;
  const int64_t nanos = absl::ToInt64Nanoseconds(std::max(delay, absl::ZeroDuration()));
  info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return WithPayload(std::move(status), kRetryInfoUrl, info);
}

std::string QuoteForMessage(absl::string_view value) {
  if (value.size() > 80) return absl::StrCat("\"", value.substr(0, 80), "...\"");
  return absl::StrCat("\"", value, "\"");
}

absl::Status InvalidField(absl::string_view field, absl::string_view message) {
  google::rpc::BadRequest bad_request;
  google::rpc::BadRequest::FieldViolation* violation = bad_request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(message));
  absl::Status status =
      WithPayload(absl::InvalidArgumentError(message), kBadRequestUrl, bad_request);
  return WithErrorInfo(std::move(status), "INVALID_FIELD", {{"field", std::string(field)}});
}

absl::Status RewordStatus(const absl::Status& status, absl::string_view message) {
  absl::Status reworded(status.code(), message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    reworded.SetPayload(url, payload);
  });
  return reworded;
}

std::optional<std::string> ErrorReason(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  if (!info.has_value()) return std::nullopt;
  return info->reason();
}

std::optional<std::string> ErrorMetadata(const absl::Status& status, absl::string_view key) {
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  if (!info.has_value()) return std::nullopt;
  auto it = info->metadata().find(std::string(key));
  if (it == info->metadata().end()) return std::nullopt;
  return it->second;
}

std::string StatusForLog(const absl::Status& status) {
  std::string text = absl::StatusCodeToString(status.code());
  std::optional<std::string> reason = ErrorReason(status);
  std::optional<absl::Duration> delay = RetryDelay(status);
  if (reason.has_value() || delay.has_value()) {
    absl::StrAppend(&text, " (", reason.value_or(""),
                    reason.has_value() && delay.has_value() ? ", " : "",
                    delay.has_value() ? absl::StrCat("retry in ", absl::FormatDuration(*delay))
                                      : "",
                    ")");
  }
  if (!status.message().empty()) absl::StrAppend(&text, ": ", status.message());
  return text;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryInfoUrl);
  google::rpc::RetryInfo info;
  if (!payload.has_value() || !info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

}  // namespace followgate
