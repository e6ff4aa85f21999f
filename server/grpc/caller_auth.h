// Who may call: bearer tokens of named callers, with scopes.
#ifndef FOLLOWGATE_SERVER_GRPC_CALLER_AUTH_H_
#define FOLLOWGATE_SERVER_GRPC_CALLER_AUTH_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace followgate {

// Scopes a caller may hold.
inline constexpr absl::string_view kScopeFollowsRead = "follows.read";
inline constexpr absl::string_view kScopeInvitationsSend = "invitations.send";
inline constexpr absl::string_view kScopeInvitationsRead = "invitations.read";

// One caller from the callers file.
struct CallerEntry {
  std::string name;
  std::string token_sha256;  // Lower-case hex of SHA-256(token).
  std::set<std::string> scopes;
};

// Parses a callers file:
//   {"callers":[{"name":"etl","token_sha256":"<64 hex>","scopes":["follows.read"]}]}
// INVALID_ARGUMENT saying what is wrong (never echoing a hash).
absl::StatusOr<std::vector<CallerEntry>> ParseCallers(absl::string_view json);

// Lower-case hex SHA-256 of `text`.
std::string Sha256Hex(absl::string_view text);

// The caller a PERMISSION_DENIED status of CallerAuth::Authorize names (for
// logs and metrics; it is not sent to the caller), if any.
std::optional<std::string> DeniedCallerName(const absl::Status& status);

// Checks `authorization: Bearer <token>` against the callers. Without a
// callers file every call is let through (a mesh sidecar authenticates) and
// named by its `x-followgate-caller` header or its address. Thread-safe;
// Reload() swaps the callers atomically and keeps the old ones on error.
class CallerAuth {
 public:
  // `path` "" turns authentication off.
  static absl::StatusOr<std::unique_ptr<CallerAuth>> Create(const std::string& path);

  bool enabled() const { return !path_.empty(); }
  absl::Status Reload();

  // The caller's name, or UNAUTHENTICATED (no or unknown token) or
  // PERMISSION_DENIED (the caller lacks `scope`). `authorization` is the
  // header's value ("" when absent); `fallback_name` names the caller when
  // authentication is off. A token that names a caller is registered as a
  // secret (server/base/redaction.h).
  absl::StatusOr<std::string> Authorize(absl::string_view authorization, absl::string_view scope,
                                        absl::string_view fallback_name) const;

 private:
  explicit CallerAuth(std::string path) : path_(std::move(path)) {}
  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<CallerEntry> callers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_CALLER_AUTH_H_
