// An in-process emulation of ConnectSafely's "send company follow
// invitations" endpoint, for tests and credential-free local runs:
//
//   POST /linkedin/organizations/{companyId}/follow-invitations
//   Authorization: Bearer <api key>
//   {"accountId"?: "...", "companyId"?: "...", "profileUrns": ["...", ...]}
//
// Mount Handle() on an HttpRouter under kConnectSafelyApiPrefix (see
// sandbox_upstreams.h). Order of checks for a request: API key (401), rate
// limit (429), next scripted fault, then the endpoint: path and body (404,
// 405, 400), Super Admin access to the company (403), then one result per
// profile (200). A request that passes the key check and is not throttled
// consumes a fault and moves the rate limiter's clock, whatever it is
// answered.
//
// Unlike the real API, the sandbox remembers every invitation it SENT, per
// company, until Reset(), and counts how often each (company, profile) pair
// arrived, so tests can see whether a client re-sent someone. Per profile:
//   not "urn:li:fsd_profile:{id}"      FAILED, "Invalid profile URN"
//   already SENT for this company      ALREADY_INVITED
//   id ending in "NC"                  FAILED, not a 1st-degree connection
//   the company's monthly credits gone FAILED, "No invitation credits left"
//   otherwise                          SENT (remembered, uses a credit)
// Credits renew at the start of each calendar month (UTC, by arrival time).
//
// Faults (sandbox_fault.h), one per admitted request: kStatus answers that
// status with {"error": ...} (429 also with Retry-After); kReset resets the
// connection without processing; kTruncate and kSlow process the request
// and then cut or delay the reply (a slow reply's invitations are already
// remembered when the client gives up); kLost processes the request and
// then resets the connection, the lost-response case.
//
// Thread-safe: each request is handled under one lock (it is quick: delays
// happen in the server after Handle() returns), so requests are atomic.

#ifndef FOLLOWGATE_SERVER_SANDBOX_CONNECTSAFELY_API_H_
#define FOLLOWGATE_SERVER_SANDBOX_CONNECTSAFELY_API_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/sandbox/http_message.h"
#include "server/sandbox/sandbox_fault.h"

namespace followgate {
namespace sandbox {

// Every request whose path starts with this is a ConnectSafely API request.
inline constexpr char kConnectSafelyApiPrefix[] = "/linkedin/";

struct ConnectSafelyOptions {
  // The only API key accepted, as "Authorization: Bearer <key>". Printable
  // ASCII without spaces. Never logged.
  std::string api_key = "sandbox-api-key";
  // Companies whose page the sandbox's LinkedIn account is Super Admin of
  // (positive); requests for any other company answer 403.
  std::vector<int64_t> super_admin_companies = {105672170, 1000};
  // The accountId answered when a request names none.
  std::string default_account_id = "696ce9e780e0483585e4e553";
  // Invitations each company can send per calendar month; 0 is unlimited.
  int64_t credits_per_company = 0;
  // Minimum spacing of API requests; one arriving sooner after the last
  // admitted one answers 429. Zero disables the limit.
  absl::Duration min_interval = absl::ZeroDuration();
};

struct ConnectSafelyStats {
  int64_t requests = 0;              // API requests, whatever their outcome.
  std::map<int, int64_t> by_status;  // Statuses sent, including faults.
  int64_t throttled = 0;             // 429s from the rate limiter (not faults).
  int64_t connection_resets = 0;     // Requests answered with reset or lost.
  int64_t lost_responses = 0;        // Processed, then reset (kLost).
  int64_t processed_requests = 0;    // Requests whose profiles were handled.
  // Largest profileUrns array in any API request, whatever its outcome (so
  // a client sending more than 50 shows here though it got a 400).
  int64_t max_profiles_in_a_request = 0;
  int64_t profiles_received = 0;  // URNs in processed requests.
  int64_t invitations_sent = 0;   // Results with status SENT.
  // Times a (company, profile) pair arrived in a processed request after it
  // had already been SENT: the client re-sent someone.
  int64_t duplicate_receipts = 0;
  int64_t faults_pending = 0;
};

class ConnectSafelyApi {
 public:
  // InvalidArgument for a bad key, company list, credit count, account id or
  // a negative interval.
  static absl::StatusOr<std::unique_ptr<ConnectSafelyApi>> Create(
      const ConnectSafelyOptions& options);

  ConnectSafelyApi(const ConnectSafelyApi&) = delete;
  ConnectSafelyApi& operator=(const ConnectSafelyApi&) = delete;

  // Answers one request under kConnectSafelyApiPrefix. Never fails: every
  // problem becomes an HTTP answer or a scripted transport fault.
  HttpReply Handle(const HttpRequest& request);

  // Appends to the fault queue; each later admitted request consumes one.
  void AddFaults(const std::vector<SandboxFault>& faults);

  ConnectSafelyStats Stats() const;
  // How often `profile_urn` arrived for `company_id` in processed requests.
  int64_t ReceiveCount(int64_t company_id, absl::string_view profile_urn) const;
  // Every profile URN that arrived for `company_id`, with its count.
  std::map<std::string, int64_t> Received(int64_t company_id) const;
  // Whether an invitation to `profile_urn` was SENT for `company_id`.
  bool WasInvited(int64_t company_id, absl::string_view profile_urn) const;

  // Forgets everything: invitations, receive counts, used credits, stats,
  // pending faults and the rate limiter.
  void Reset();

 private:
  struct Company {
    std::set<std::string> invited;
    std::map<std::string, int64_t> received;
    int64_t credit_month = 0;  // YYYYMM that credits_used counts for.
    int64_t credits_used = 0;
  };
  struct Admission;
  struct Invitations;

  explicit ConnectSafelyApi(const ConnectSafelyOptions& options);

  // Key check, rate limit and the next fault.
  Admission Admit(const HttpRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Path, method and body checks, Super Admin check, then Process().
  HttpReply Endpoint(const HttpRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  HttpReply Process(const Invitations& invitations, absl::Time arrival)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(const HttpReply& reply, const Admission& admission,
              int64_t profiles) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string api_key_;
  const std::set<int64_t> super_admin_companies_;
  const std::string default_account_id_;
  const int64_t credits_per_company_;
  const absl::Duration min_interval_;

  mutable absl::Mutex mu_;
  absl::optional<absl::Time> last_admitted_ ABSL_GUARDED_BY(mu_);
  std::deque<SandboxFault> faults_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Company> companies_ ABSL_GUARDED_BY(mu_);
  ConnectSafelyStats stats_ ABSL_GUARDED_BY(mu_);
};

// Parses a comma-separated list of positive company ids ("105672170,1000");
// InvalidArgument naming the bad entry otherwise.
absl::StatusOr<std::vector<int64_t>> ParseCompanyIds(absl::string_view list);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_CONNECTSAFELY_API_H_
