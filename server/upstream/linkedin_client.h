// One request to LinkedIn's dmaOrganizationalPageFollows API.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CLIENT_H_
#define FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CLIENT_H_

#include <cstdint>
#include <optional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.pb.h"
#include "google/protobuf/repeated_field.h"
#include "server/base/cancellation.h"
#include "server/base/clock.h"
#include "server/base/secret_source.h"
#include "server/upstream/follows_query.h"
#include "server/upstream/http_client.h"
#include "server/upstream/urn.h"

namespace followgate {

struct LinkedInClientOptions {
  std::string base_url = "https://api.linkedin.com";
  // Secret: sent only in the Authorization header, never logged or echoed.
  std::string access_token;
  // When set, the token is taken from it for every request instead (a token
  // file rotated while the server runs); `access_token` is then unused.
  std::shared_ptr<SecretSource> token_source;
  // The credential's name in errors, health and metrics (never the token):
  // a 401 is UNAUTHENTICATED naming it, with ErrorInfo metadata
  // "credential". "default" for --linkedin_token_file.
  std::string credential_name = "default";
  // LinkedIn-Version header, YYYYMM.
  std::string version = "202611";
  absl::Duration request_timeout = absl::Seconds(30);
  // Tells consented members from obfuscated ones.
  FollowerClassifier classifier;
};

// LinkedIn's page size limit; every request asks for this many, because each
// costs a whole rate-limit interval whatever its size.
inline constexpr int kMaxPaginationCount = 1000;

// Limits on what one LinkedIn page may hold; beyond them the page is refused
// (LINKEDIN_INVALID_PAGE, see upstream_errors.h). URNs: LinkedIn's own limit.
// Cursors: LinkedIn's are a few dozen characters. Totals: more than any page
// has followers.
inline constexpr size_t kMaxUpstreamUrnLength = 255;
inline constexpr size_t kMaxUpstreamCursorLength = 2048;
inline constexpr int64_t kMaxUpstreamTotal = int64_t{1} << 40;

// Builds requests, sends them through an HttpClient and parses the answers.
// No pacing and no retries (see FollowsFetcher). Thread-safe; `http` and
// `clock` are not owned and must outlive this.
class LinkedInClient {
 public:
  LinkedInClient(HttpClient* http, Clock* clock, LinkedInClientOptions options);

  // Errors are those of upstream_errors.h: the HTTP status table, transport
  // failures, and malformed bodies, each with its RetryAdvice.
  absl::StatusOr<FollowsPage> FetchPage(const FollowsQuery& query,
                                        absl::string_view cursor,
                                        const CancellationToken* cancel) const;

  // The access token's generation (SecretSource::Value), 0 without a
  // source. Read it before a request to learn, after a 401, whether...
  int64_t token_generation() const;
  // The credential's name (LinkedInClientOptions::credential_name).
  const std::string& credential_name() const { return options_.credential_name; }
  // ...the token source now holds another token than generation `used`
  // (the file is re-read at once): one more request is worth its slot then.
  bool TokenRotatedSince(int64_t used) const;

  // The request URL for `query` after `cursor` ("" for the first page).
  std::string RequestUrl(const FollowsQuery& query, absl::string_view cursor) const;

 private:
  // A 401's status, its message naming this credential (and ErrorInfo
  // metadata "credential"), its details kept.
  absl::Status NamingCredential(absl::Status error) const;

  HttpClient* const http_;
  Clock* const clock_;
  const LinkedInClientOptions options_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, as Rest.li
// 2.0 wants for URNs and cursors (`:` → %3A, `+` → %2B, `/` → %2F, ...).
std::string PercentEncode(absl::string_view value);

// LinkedIn's edgeType names.
absl::string_view EdgeTypeName(v1::FollowEdgeType type);
v1::FollowEdgeType EdgeTypeFromName(absl::string_view name);

// Parses a 2xx body. A body that is not the documented JSON (truncated,
// garbled, `elements` missing) is an error (LinkedInMalformedBody), never an
// empty page. Valid JSON that breaks the contract is FAILED_PRECONDITION
// (LinkedInContractError): more than kMaxPaginationCount elements
// (LINKEDIN_PAGE_TOO_LARGE); a lastModifiedAt outside protobuf Timestamp's
// range, a negative or absurd paging.total, or a URN or cursor beyond the
// limits above (LINKEDIN_INVALID_PAGE). `classifier` sets each follower's kind.
absl::StatusOr<FollowsPage> ParseFollowsPage(
    absl::string_view body,
    const FollowerClassifier& classifier = FollowerClassifier());

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CLIENT_H_
