#include "client/error_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace followgate::cli {

ErrorDetails ParseErrorDetails(absl::string_view serialized_status) {
  ErrorDetails details;
  google::rpc::Status status;
  if (serialized_status.empty() ||
      !status.ParseFromArray(serialized_status.data(), static_cast<int>(serialized_status.size()))) {
    return details;
  }
  for (const google::protobuf::Any& any : status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      details.reason = info.reason();
      details.metadata.insert(info.metadata().begin(), info.metadata().end());
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry)) {
      details.retry_delay = absl::Seconds(retry.retry_delay().seconds()) +
                            absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return details;
}

std::optional<std::string> ExplainTlsFailure(absl::string_view message) {
  const std::string text = absl::AsciiStrToLower(message);
  if (absl::StrContains(text, "certificate verify failed") ||
      absl::StrContains(text, "certificate_verify_failed")) {
    return std::string(
        "the server's TLS certificate does not verify with --tls_ca_file (signed by "
        "another CA, or not issued for the host name in --server)");
  }
  if (absl::StrContains(text, "alert certificate required") ||
      absl::StrContains(text, "alert_certificate_required")) {
    return std::string(
        "the server asks for a client certificate: give --tls_cert_file and --tls_key_file");
  }
  if (absl::StrContains(text, "alert bad certificate") ||
      absl::StrContains(text, "alert unknown ca") ||
      absl::StrContains(text, "alert certificate unknown") ||
      absl::StrContains(text, "alert_bad_certificate") ||
      absl::StrContains(text, "alert_unknown_ca")) {
    return std::string(
        "the server refused this client's certificate (--tls_cert_file): it is not signed "
        "by a CA the server trusts for callers");
  }
  if (absl::StrContains(text, "wrong version number") ||
      absl::StrContains(text, "wrong_version_number") ||
      absl::StrContains(text, "http_request") || absl::StrContains(text, "http request")) {
    return std::string(
        "the server does not speak TLS on this port: leave out --tls_ca_file, or check "
        "--server");
  }
  return std::nullopt;
}

std::optional<std::string> HintForClosedConnection(absl::string_view message) {
  const std::string text = absl::AsciiStrToLower(message);
  if (!absl::StrContains(text, "failed to connect") ||
      !absl::StrContains(text, "socket closed")) {
    return std::nullopt;
  }
  return std::string(
      "the server closed the connection before answering: if this persists, check TLS: "
      "the server may want a client certificate (--tls_cert_file, --tls_key_file) or "
      "refuse this one, or speak TLS while this client does not (--tls_ca_file)");
}

std::string DescribeError(absl::StatusCode code, absl::string_view message,
                          const ErrorDetails& details) {
  const std::string code_name = absl::StatusCodeToString(code);
  std::string extra;
  if (!details.reason.empty() && details.reason != code_name) {
    extra = absl::StrCat("reason ", details.reason);
  }
  if (details.retry_delay.has_value()) {
    absl::StrAppend(&extra, extra.empty() ? "" : ", ", "retry in ",
                    absl::FormatDuration(*details.retry_delay));
  }
  // "CODE: message" first, as earlier releases printed it.
  std::string out = absl::StrCat(code_name, ": ", message);
  if (!extra.empty()) absl::StrAppend(&out, " (", extra, ")");
  if (std::optional<std::string> tls = ExplainTlsFailure(message); tls.has_value()) {
    absl::StrAppend(&out, "\n  (", *tls, ")");
  } else if (std::optional<std::string> hint = HintForClosedConnection(message);
             hint.has_value()) {
    absl::StrAppend(&out, "\n  (", *hint, ")");
  }
  return out;
}

}  // namespace followgate::cli
