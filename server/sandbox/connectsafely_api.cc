#include "server/sandbox/connectsafely_api.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "nlohmann/json.hpp"

namespace followgate {
namespace sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxProfilesPerRequest = 50;
constexpr char kProfileUrnPrefix[] = "urn:li:fsd_profile:";

HttpReply JsonReply(int status, const Json& body) {
  return HttpReply::Json(
      status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

HttpReply Error(int status, absl::string_view message) {
  return JsonReply(status, {{"error", std::string(message)}});
}

// Printable ASCII without spaces.
bool IsPrintableWord(absl::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c > 0x20 && c < 0x7f;
  });
}

bool IsDigits(absl::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
}

// "urn:li:fsd_profile:{id}" with a non-empty id of letters, digits, '-', '_'.
bool IsProfileUrn(absl::string_view urn) {
  if (!absl::ConsumePrefix(&urn, kProfileUrnPrefix) || urn.empty()) {
    return false;
  }
  return std::all_of(urn.begin(), urn.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_';
  });
}

// The bearer token of the Authorization header, or "" when there is none.
absl::string_view BearerToken(const HttpRequest& request) {
  const std::string* authorization = request.FindHeader("Authorization");
  if (authorization == nullptr) return "";
  absl::string_view value = absl::StripAsciiWhitespace(*authorization);
  if (!absl::StartsWithIgnoreCase(value, "Bearer ") || value.size() < 7) {
    return "";
  }
  return absl::StripLeadingAsciiWhitespace(value.substr(7));
}

// The {companyId} text of ".../organizations/{companyId}/follow-invitations",
// or nullopt for any other path.
absl::optional<absl::string_view> CompanyIdInPath(absl::string_view path) {
  if (!absl::ConsumePrefix(&path, "/linkedin/organizations/") ||
      !absl::ConsumeSuffix(&path, "/follow-invitations") ||
      absl::StrContains(path, '/')) {
    return absl::nullopt;
  }
  return path;
}

// The number of profileUrns in `body` when it is a JSON object holding an
// array under that key, else 0. Used for statistics only.
int64_t CountProfileUrns(absl::string_view body) {
  const Json parsed = Json::parse(body.begin(), body.end(), /*cb=*/nullptr,
                                  /*allow_exceptions=*/false);
  if (!parsed.is_object()) return 0;
  const auto urns = parsed.find("profileUrns");
  if (urns == parsed.end() || !urns->is_array()) return 0;
  return static_cast<int64_t>(urns->size());
}

// Renewal period of credits: YYYYMM of `time` in UTC.
int64_t CreditMonth(absl::Time time) {
  const absl::CivilSecond civil =
      absl::ToCivilSecond(time, absl::UTCTimeZone());
  return civil.year() * 100 + civil.month();
}

// 429 with Retry-After and X-RateLimit-* headers for a client that may try
// again at `next_allowed`. The limit is one request per window.
HttpReply RateLimited(absl::Time now, absl::Time next_allowed) {
  const int64_t retry_after = std::max<int64_t>(
      1,
      absl::ToInt64Seconds(absl::Ceil(next_allowed - now, absl::Seconds(1))));
  HttpReply reply = Error(429, "Too many requests");
  reply.headers.push_back({"Retry-After", absl::StrCat(retry_after)});
  reply.headers.push_back({"X-RateLimit-Limit", "1"});
  reply.headers.push_back({"X-RateLimit-Remaining", "0"});
  reply.headers.push_back(
      {"X-RateLimit-Reset",
       absl::StrCat(absl::ToUnixSeconds(now) + retry_after)});
  return reply;
}

// The body ConnectSafely sends with `status` (the documented texts where
// there are some).
std::string ErrorText(int status) {
  switch (status) {
    case 401:
      return "Unauthorized - Invalid credentials";
    case 429:
      return "Too many requests";
    case 500:
      return "Failed to send company follow invitations";
    default:
      return absl::StrCat("Request failed with status code ", status);
  }
}

}  // namespace

// What the gateway decided before the endpoint runs.
struct ConnectSafelyApi::Admission {
  absl::optional<HttpReply> reply;     // Set: answer this, skip the endpoint.
  absl::optional<SandboxFault> fault;  // Applied around the endpoint.
  bool throttled = false;
};

// A validated request body.
struct ConnectSafelyApi::Invitations {
  int64_t company_id = 0;
  std::string account_id;
  std::vector<std::string> profile_urns;
};

absl::StatusOr<std::unique_ptr<ConnectSafelyApi>> ConnectSafelyApi::Create(
    const ConnectSafelyOptions& options) {
  if (!IsPrintableWord(options.api_key)) {
    return absl::InvalidArgumentError(
        "the API key must be non-empty printable ASCII without spaces");
  }
  if (options.super_admin_companies.empty()) {
    return absl::InvalidArgumentError(
        "super_admin_companies must name at least one company");
  }
  for (int64_t company : options.super_admin_companies) {
    if (company <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "super_admin_companies must be positive ids, got ", company));
    }
  }
  if (!IsPrintableWord(options.default_account_id)) {
    return absl::InvalidArgumentError(
        "default_account_id must be non-empty printable ASCII without spaces");
  }
  if (options.credits_per_company < 0) {
    return absl::InvalidArgumentError(
        "credits_per_company must be 0 (unlimited) or more");
  }
  if (options.min_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_interval must not be negative");
  }
  return std::unique_ptr<ConnectSafelyApi>(new ConnectSafelyApi(options));
}

ConnectSafelyApi::ConnectSafelyApi(const ConnectSafelyOptions& options)
    : api_key_(options.api_key),
      super_admin_companies_(options.super_admin_companies.begin(),
                             options.super_admin_companies.end()),
      default_account_id_(options.default_account_id),
      credits_per_company_(options.credits_per_company),
      min_interval_(options.min_interval) {}

HttpReply ConnectSafelyApi::Handle(const HttpRequest& request) {
  const int64_t profiles = CountProfileUrns(request.body);
  absl::MutexLock lock(&mu_);
  Admission admission = Admit(request);
  HttpReply reply = admission.reply.has_value() ? *std::move(admission.reply)
                                                : Endpoint(request);
  if (admission.fault.has_value()) {
    switch (admission.fault->kind) {
      case SandboxFault::Kind::kTruncate:
        reply.fault = HttpFault::kTruncate;
        break;
      case SandboxFault::Kind::kSlow:
        reply.delay = admission.fault->delay;
        break;
      case SandboxFault::Kind::kLost:
        reply = HttpReply::Reset();
        break;
      case SandboxFault::Kind::kStatus:
      case SandboxFault::Kind::kReset:
      case SandboxFault::Kind::kRetryAfter:
      case SandboxFault::Kind::kEchoCredentials:
        break;  // Answered by Admit().
      case SandboxFault::Kind::kRepeatCursor:
      case SandboxFault::Kind::kOversizedPage:
      case SandboxFault::Kind::kBadTimestamp:
        break;  // LinkedIn's alone.
    }
  }
  Record(reply, admission, profiles);
  return reply;
}

ConnectSafelyApi::Admission ConnectSafelyApi::Admit(
    const HttpRequest& request) {
  Admission admission;
  if (BearerToken(request) != api_key_) {
    admission.reply = Error(401, ErrorText(401));
    return admission;
  }
  const absl::Time now = request.arrival_time;
  if (min_interval_ > absl::ZeroDuration() && last_admitted_.has_value() &&
      now - *last_admitted_ < min_interval_) {
    admission.reply = RateLimited(now, *last_admitted_ + min_interval_);
    admission.throttled = true;
    return admission;
  }
  last_admitted_ =
      last_admitted_.has_value() ? std::max(*last_admitted_, now) : now;
  if (faults_.empty()) return admission;
  const SandboxFault fault = faults_.front();
  faults_.pop_front();
  if (fault.kind == SandboxFault::Kind::kStatus) {
    admission.reply =
        fault.status == 429
            ? RateLimited(now, now + std::max(min_interval_, absl::Seconds(1)))
            : Error(fault.status, ErrorText(fault.status));
  } else if (fault.kind == SandboxFault::Kind::kRetryAfter) {
    admission.reply = Error(429, ErrorText(429));
    admission.reply->headers.push_back({"Retry-After", absl::StrCat(fault.value)});
  } else if (fault.kind == SandboxFault::Kind::kReset) {
    admission.reply = HttpReply::Reset();
  } else if (fault.kind == SandboxFault::Kind::kEchoCredentials) {
    const std::string* authorization = request.FindHeader("Authorization");
    admission.reply = Error(fault.status, EchoedCredentialsText(authorization == nullptr
                                                                     ? ""
                                                                     : *authorization));
  } else {
    admission.fault = fault;
  }
  return admission;
}

HttpReply ConnectSafelyApi::Endpoint(const HttpRequest& request) {
  const absl::optional<absl::string_view> company_text =
      CompanyIdInPath(request.path);
  if (!company_text.has_value()) return Error(404, "Not found");
  if (request.method != "POST") return Error(405, "Method not allowed");
  if (!IsDigits(*company_text)) {
    return Error(400, "companyId must be a numeric LinkedIn company ID");
  }
  Invitations invitations;
  // Too many digits for an id: no page the account administers (403 below).
  if (!absl::SimpleAtoi(*company_text, &invitations.company_id)) {
    invitations.company_id = -1;
  }

  const Json body = Json::parse(request.body, /*cb=*/nullptr,
                                /*allow_exceptions=*/false);
  if (!body.is_object()) {
    return Error(400, "Request body must be a JSON object");
  }
  const auto urns = body.find("profileUrns");
  if (urns == body.end() || !urns->is_array()) {
    return Error(400, "profileUrns is required and must be an array");
  }
  if (urns->empty()) return Error(400, "profileUrns must not be empty");
  if (urns->size() > kMaxProfilesPerRequest) {
    return Error(400, absl::StrCat("Maximum ", kMaxProfilesPerRequest,
                                   " profileUrns per request"));
  }
  for (const Json& urn : *urns) {
    if (!urn.is_string()) {
      return Error(400, "profileUrns must contain only strings");
    }
    invitations.profile_urns.push_back(urn.get<std::string>());
  }
  const auto account = body.find("accountId");
  if (account == body.end() || account->is_null()) {
    invitations.account_id = default_account_id_;
  } else if (account->is_string() && !account->get<std::string>().empty()) {
    invitations.account_id = account->get<std::string>();
  } else {
    return Error(400, "accountId must be a non-empty string");
  }
  const auto company = body.find("companyId");
  if (company != body.end() && !company->is_null()) {
    int64_t body_company = 0;
    if (!company->is_string() || !IsDigits(company->get<std::string>()) ||
        !absl::SimpleAtoi(company->get<std::string>(), &body_company) ||
        body_company != invitations.company_id) {
      return Error(400, "companyId in the body must match the path");
    }
  }
  if (super_admin_companies_.count(invitations.company_id) == 0) {
    return Error(403, ErrorText(403));
  }
  return Process(invitations, request.arrival_time);
}

HttpReply ConnectSafelyApi::Process(const Invitations& invitations,
                                    absl::Time arrival) {
  Company& company = companies_[invitations.company_id];
  const int64_t month = CreditMonth(arrival);
  if (company.credit_month != month) {
    company.credit_month = month;
    company.credits_used = 0;
  }
  Json results = Json::array();
  int64_t successful = 0;
  for (const std::string& urn : invitations.profile_urns) {
    ++company.received[urn];
    ++stats_.profiles_received;
    const char* status = "FAILED";
    const char* error = nullptr;
    if (!IsProfileUrn(urn)) {
      error = "Invalid profile URN";
    } else if (company.invited.count(urn) > 0) {
      ++stats_.duplicate_receipts;
      status = "ALREADY_INVITED";
      error = "Profile already invited to follow this company";
    } else if (absl::EndsWith(urn, "NC")) {
      error = "Not a 1st-degree connection of the account";
    } else if (credits_per_company_ > 0 &&
               company.credits_used >= credits_per_company_) {
      error = "No invitation credits left";
    } else {
      company.invited.insert(urn);
      ++company.credits_used;
      ++stats_.invitations_sent;
      ++successful;
      status = "SENT";
    }
    Json result;
    result["profileUrn"] = urn;
    result["success"] = error == nullptr;
    result["status"] = status;
    if (error != nullptr) result["error"] = error;
    results.push_back(std::move(result));
  }
  ++stats_.processed_requests;

  const int64_t requested = static_cast<int64_t>(results.size());
  Json body;
  body["success"] = successful > 0;
  body["accountId"] = invitations.account_id;
  body["companyId"] = absl::StrCat(invitations.company_id);
  body["totalRequested"] = requested;
  body["totalSuccessful"] = successful;
  body["totalFailed"] = requested - successful;
  body["results"] = std::move(results);
  return JsonReply(200, body);
}

void ConnectSafelyApi::Record(const HttpReply& reply,
                              const Admission& admission, int64_t profiles) {
  ++stats_.requests;
  if (admission.throttled) ++stats_.throttled;
  stats_.max_profiles_in_a_request =
      std::max(stats_.max_profiles_in_a_request, profiles);
  if (reply.fault == HttpFault::kReset) {
    ++stats_.connection_resets;
    if (admission.fault.has_value() &&
        admission.fault->kind == SandboxFault::Kind::kLost) {
      ++stats_.lost_responses;
    }
  } else {
    ++stats_.by_status[reply.status];
  }
}

void ConnectSafelyApi::AddFaults(const std::vector<SandboxFault>& faults) {
  absl::MutexLock lock(&mu_);
  faults_.insert(faults_.end(), faults.begin(), faults.end());
}

ConnectSafelyStats ConnectSafelyApi::Stats() const {
  absl::MutexLock lock(&mu_);
  ConnectSafelyStats stats = stats_;
  stats.faults_pending = static_cast<int64_t>(faults_.size());
  return stats;
}

int64_t ConnectSafelyApi::ReceiveCount(int64_t company_id,
                                       absl::string_view profile_urn) const {
  absl::MutexLock lock(&mu_);
  const auto company = companies_.find(company_id);
  if (company == companies_.end()) return 0;
  const auto count = company->second.received.find(std::string(profile_urn));
  return count == company->second.received.end() ? 0 : count->second;
}

std::map<std::string, int64_t> ConnectSafelyApi::Received(
    int64_t company_id) const {
  absl::MutexLock lock(&mu_);
  const auto company = companies_.find(company_id);
  return company == companies_.end() ? std::map<std::string, int64_t>()
                                     : company->second.received;
}

bool ConnectSafelyApi::WasInvited(int64_t company_id,
                                  absl::string_view profile_urn) const {
  absl::MutexLock lock(&mu_);
  const auto company = companies_.find(company_id);
  return company != companies_.end() &&
         company->second.invited.count(std::string(profile_urn)) > 0;
}

void ConnectSafelyApi::Reset() {
  absl::MutexLock lock(&mu_);
  last_admitted_.reset();
  faults_.clear();
  companies_.clear();
  stats_ = ConnectSafelyStats();
}

absl::StatusOr<std::vector<int64_t>> ParseCompanyIds(absl::string_view list) {
  std::vector<int64_t> ids;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int64_t id = 0;
    if (!IsDigits(part) || !absl::SimpleAtoi(part, &id) || id <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "company ids must be positive integers, got '", part, "'"));
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace sandbox
}  // namespace followgate
