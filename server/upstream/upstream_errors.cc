#include "server/upstream/upstream_errors.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/upstream/http_client.h"

namespace followgate {
namespace {

constexpr absl::string_view kRetryPayload = "followgate.dev/retry-advice";

// One row per upstream outcome, chosen by what the caller should do.
struct HttpRule {
  int first_status;
  int last_status;
  absl::StatusCode code;
  RetryAdvice retry;
  const char* reason;  // ErrorInfo reason (README, "Errors").
  const char* hint;    // What the operator or caller can do about it.
};

// LinkedIn's documented errors (seed table, UPSTREAM.md). First match wins.
constexpr HttpRule kLinkedInHttpRules[] = {
    {400, 400, absl::StatusCode::kInvalidArgument, RetryAdvice::kDoNotRetry,
     "LINKEDIN_BAD_REQUEST", "LinkedIn rejected the request's parameters"},
    {401, 401, absl::StatusCode::kUnauthenticated, RetryAdvice::kDoNotRetry,
     "LINKEDIN_TOKEN_REJECTED", "the LinkedIn access token is missing, invalid or expired; renew it"},
    {403, 403, absl::StatusCode::kPermissionDenied, RetryAdvice::kDoNotRetry,
     "LINKEDIN_FORBIDDEN", "the token's member is not an admin of this page or the application lacks "
     "r_dma_admin_pages_content"},
    {404, 404, absl::StatusCode::kNotFound, RetryAdvice::kDoNotRetry,
     "LINKEDIN_NOT_FOUND", "LinkedIn knows no such entity"},
    {426, 426, absl::StatusCode::kFailedPrecondition, RetryAdvice::kDoNotRetry,
     "LINKEDIN_VERSION_RETIRED", "the LinkedIn-Version sent is retired; raise --linkedin_version"},
    {429, 429, absl::StatusCode::kResourceExhausted,
     RetryAdvice::kRetryAfterInterval,
     "LINKEDIN_THROTTLED", "LinkedIn's rate limit (one request per interval) was hit"},
    {500, 599, absl::StatusCode::kUnavailable, RetryAdvice::kRetryAfterBackoff,
     "LINKEDIN_UNAVAILABLE", "LinkedIn failed; retried after the backoff"},
    // Any other answer means LinkedIn changed its contract: not retryable.
    {300, 499, absl::StatusCode::kFailedPrecondition, RetryAdvice::kDoNotRetry,
     "LINKEDIN_UNEXPECTED_ANSWER", "unexpected LinkedIn answer"},
};

// 2xx answers that break LinkedIn's documented contract (valid JSON, wrong
// content): asking again would get the same answer, so none is retried.
struct ContractRule {
  LinkedInContractBreach breach;
  const char* reason;  // ErrorInfo reason (README, "Errors").
  const char* hint;
};

constexpr ContractRule kLinkedInContractRules[] = {
    {LinkedInContractBreach::kInvalidPage, "LINKEDIN_INVALID_PAGE",
     "LinkedIn sent a page outside its documented contract; nothing of it was stored"},
    {LinkedInContractBreach::kPageTooLarge, "LINKEDIN_PAGE_TOO_LARGE",
     "LinkedIn sent more elements than requested; nothing of the page was stored"},
    {LinkedInContractBreach::kCursorRepeated, "LINKEDIN_CURSOR_REPEATED",
     "LinkedIn's paging went in a circle; the crawl stopped, the pages before stay stored"},
    {LinkedInContractBreach::kSequenceTooLong, "LINKEDIN_SEQUENCE_TOO_LONG",
     "LinkedIn's paging goes on far beyond paging.total; the crawl stopped, the pages before "
     "stay stored"},
};

absl::Status WithAdvice(absl::Status status, RetryAdvice advice) {
  if (advice != RetryAdvice::kDoNotRetry) {
    status.SetPayload(kRetryPayload,
                      absl::Cord(advice == RetryAdvice::kRetryAfterInterval
                                     ? "interval"
                                     : "backoff"));
  }
  return status;
}

// "CODE: message" from a LinkedIn JSON error body, or "" when it has neither.
std::string DescribeErrorBody(absl::string_view body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return "";
  std::string code, message;
  if (auto it = json.find("code"); it != json.end() && it->is_string()) {
    code = it->get<std::string>();
  }
  if (auto it = json.find("message"); it != json.end() && it->is_string()) {
    message = it->get<std::string>().substr(0, 300);
  }
  if (code.empty()) return message;
  if (message.empty()) return code;
  return absl::StrCat(code, ": ", message);
}

// ConnectSafely (seed document, UPSTREAM.md). First match wins.
struct SendRule {
  int first_status;
  int last_status;
  absl::StatusCode code;
  SendDisposition disposition;
  const char* reason;  // ErrorInfo reason (README, "Errors").
  const char* hint;
};

constexpr SendRule kConnectSafelyHttpRules[] = {
    {400, 400, absl::StatusCode::kInvalidArgument, SendDisposition::kRejected,
     "CONNECTSAFELY_BAD_REQUEST", "ConnectSafely rejected the request"},
    {401, 401, absl::StatusCode::kUnauthenticated, SendDisposition::kRejected,
     "CONNECTSAFELY_KEY_REJECTED", "the ConnectSafely API key is missing or invalid"},
    {403, 403, absl::StatusCode::kPermissionDenied, SendDisposition::kRejected,
     "CONNECTSAFELY_NOT_SUPER_ADMIN", "the LinkedIn account is not a Super Admin of the company page"},
    {404, 404, absl::StatusCode::kNotFound, SendDisposition::kRejected,
     "CONNECTSAFELY_NOT_FOUND", "ConnectSafely knows no such company or account"},
    {429, 429, absl::StatusCode::kResourceExhausted, SendDisposition::kThrottled,
     "CONNECTSAFELY_THROTTLED", "ConnectSafely's rate limit was hit"},
    // A 5xx may come after invitations went out: the chunk is UNKNOWN.
    {500, 599, absl::StatusCode::kUnavailable, SendDisposition::kAmbiguous,
     "CONNECTSAFELY_OUTCOME_UNKNOWN", "ConnectSafely failed; the request's outcome is unknown"},
    {300, 499, absl::StatusCode::kFailedPrecondition, SendDisposition::kRejected,
     "CONNECTSAFELY_UNEXPECTED_ANSWER", "unexpected ConnectSafely answer"},
};

// The `error` text of a ConnectSafely error body, or "".
std::string ConnectSafelyErrorText(absl::string_view body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return "";
  auto it = json.find("error");
  if (it == json.end() || !it->is_string()) return "";
  return it->get<std::string>().substr(0, 300);
}

}  // namespace

ConnectSafelyError ConnectSafelyHttpError(int http_status, absl::string_view body) {
  const std::string error = ConnectSafelyErrorText(body);
  for (const SendRule& rule : kConnectSafelyHttpRules) {
    if (http_status < rule.first_status || http_status > rule.last_status) continue;
    return {rule.disposition,
            WithErrorInfo(
                absl::Status(rule.code, absl::StrCat("ConnectSafely answered HTTP ", http_status,
                                                     error.empty() ? "" : " (", error,
                                                     error.empty() ? "" : ")", ": ", rule.hint)),
                rule.reason, {{"http_status", std::to_string(http_status)}})};
  }
  return {SendDisposition::kAmbiguous,
          absl::InternalError(absl::StrCat("ConnectSafely answered unexpected HTTP ",
                                           http_status))};
}

ConnectSafelyError ConnectSafelyTransportError(const absl::Status& transport) {
  const std::string what = absl::StrCat("ConnectSafely request failed: ", transport.message());
  if (IsRequestNeverSent(transport)) {
    return {SendDisposition::kNotSent,
            WithErrorInfo(absl::UnavailableError(what), "CONNECTSAFELY_UNREACHABLE")};
  }
  switch (transport.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kOutOfRange:  // An answer too large to read.
      return {SendDisposition::kAmbiguous,
              WithErrorInfo(absl::UnavailableError(what), "CONNECTSAFELY_OUTCOME_UNKNOWN")};
    case absl::StatusCode::kCancelled:
      return {SendDisposition::kAmbiguous, absl::CancelledError(what)};
    default:
      return {SendDisposition::kAmbiguous, absl::InternalError(what)};
  }
}

ConnectSafelyError ConnectSafelyMalformedBody(absl::string_view why) {
  return {SendDisposition::kAmbiguous,
          WithErrorInfo(
              absl::UnavailableError(absl::StrCat("ConnectSafely sent a malformed body: ", why)),
              "CONNECTSAFELY_OUTCOME_UNKNOWN")};
}

absl::Status LinkedInHttpError(int http_status, absl::string_view body) {
  const std::string described = DescribeErrorBody(body);
  for (const HttpRule& rule : kLinkedInHttpRules) {
    if (http_status < rule.first_status || http_status > rule.last_status) {
      continue;
    }
    return WithAdvice(
        WithErrorInfo(absl::Status(rule.code,
                                   absl::StrCat("LinkedIn answered HTTP ", http_status,
                                                described.empty() ? "" : " (", described,
                                                described.empty() ? "" : ")", ": ", rule.hint)),
                      rule.reason, {{"http_status", std::to_string(http_status)}}),
        rule.retry);
  }
  return absl::InternalError(
      absl::StrCat("LinkedIn answered unexpected HTTP ", http_status));
}

absl::Status LinkedInTransportError(const absl::Status& transport) {
  switch (transport.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
      return WithAdvice(
          WithErrorInfo(absl::UnavailableError(absl::StrCat("LinkedIn request failed: ",
                                                            transport.message())),
                        "LINKEDIN_UNAVAILABLE"),
          RetryAdvice::kRetryAfterBackoff);
    case absl::StatusCode::kOutOfRange:
      // An answer that big breaks the contract (a page of 1000 edges is
      // well under a megabyte); asking again would likely get it again.
      return WithErrorInfo(
          absl::FailedPreconditionError(absl::StrCat(
              "LinkedIn sent an answer too large to read: ", transport.message(),
              "; nothing of it was stored")),
          "LINKEDIN_ANSWER_TOO_LARGE");
    case absl::StatusCode::kCancelled:
      return transport;
    default:
      return absl::InternalError(
          absl::StrCat("LinkedIn request failed: ", transport.message()));
  }
}

absl::Status LinkedInMalformedBody(absl::string_view why) {
  return WithAdvice(
      WithErrorInfo(absl::UnavailableError(absl::StrCat("LinkedIn sent a malformed body: ", why)),
                    "LINKEDIN_MALFORMED_BODY"),
      RetryAdvice::kRetryAfterBackoff);
}

absl::Status LinkedInContractError(LinkedInContractBreach breach, absl::string_view why) {
  for (const ContractRule& rule : kLinkedInContractRules) {
    if (rule.breach != breach) continue;
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat("LinkedIn answered 2xx but ", why, ": ",
                                                   rule.hint)),
        rule.reason);
  }
  return absl::InternalError(absl::StrCat("LinkedIn answer breaks its contract: ", why));
}

std::optional<absl::Duration> RetryAfterHeader(absl::string_view retry_after,
                                               absl::string_view rate_limit_reset,
                                               absl::Time now, absl::Duration cap) {
  auto capped = [cap](absl::Duration d) {
    return std::clamp(d, absl::ZeroDuration(), cap);
  };
  int64_t number = 0;
  if (!retry_after.empty()) {
    // Digits only: SimpleAtoi would take "+5" or " 5" as well.
    if (retry_after.size() <= 18 &&
        std::all_of(retry_after.begin(), retry_after.end(), absl::ascii_isdigit) &&
        absl::SimpleAtoi(retry_after, &number)) {
      return capped(absl::Seconds(number));
    }
    absl::Time when;
    std::string error;
    if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(retry_after), &when, &error)) {
      return capped(when - now);
    }
  }
  if (!rate_limit_reset.empty() && rate_limit_reset.size() <= 18 &&
      absl::SimpleAtoi(rate_limit_reset, &number) && number >= 0) {
    // Large values are Unix times; small ones, seconds from now.
    return capped(number > 1000000000 ? absl::FromUnixSeconds(number) - now
                                      : absl::Seconds(number));
  }
  return std::nullopt;
}

RetryAdvice RetryAdviceOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryPayload);
  if (!payload.has_value()) return RetryAdvice::kDoNotRetry;
  return *payload == "interval" ? RetryAdvice::kRetryAfterInterval
                                : RetryAdvice::kRetryAfterBackoff;
}

}  // namespace followgate
