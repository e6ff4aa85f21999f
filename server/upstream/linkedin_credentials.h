// Several LinkedIn credentials (--linkedin_credentials_file): which token
// serves which organizational pages, and which budget each spends.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CREDENTIALS_H_
#define FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CREDENTIALS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/upstream/follows_query.h"

namespace followgate {

// The name of the one credential of --linkedin_token_file.
inline constexpr char kDefaultCredentialName[] = "default";

struct LinkedInCredentialConfig {
  // [a-z0-9_-], 1 to 40 characters; it names the credential in errors,
  // health (followgate.linkedin.credential.<name>), metrics and logs.
  std::string name;
  // Where the token is: a file (re-read when replaced) or an environment
  // variable. Exactly one is set.
  std::string token_file;
  std::string token_env;
  // The organizational pages it serves, as canonical decimal ids; "*" makes
  // it the default for pages no other credential names.
  std::vector<std::string> pages;
  // It serves the follower finder for person followers.
  bool people = false;
  // The budget it spends (one request per interval per budget); credentials
  // naming the same budget share it. Defaults to the credential's name.
  std::string budget;
  // The LinkedIn application, for OAuth: its client id and secret (a file
  // or an environment variable). With them the token's expiry is asked of
  // LinkedIn (introspection); with a refresh token too, the token is
  // renewed before it expires (TokenKeeper).
  std::string client_id;
  std::string client_secret_file;
  std::string client_secret_env;
  std::string refresh_token_file;
};

// Parses the credentials file:
//
//   {"credentials": [
//     {"name": "acme", "token_file": "/run/secrets/acme", "pages": ["1000", "2000"]},
//     {"name": "globex", "token_env": "GLOBEX_TOKEN", "pages": ["*"], "people": true,
//      "budget": "app-1"}]}
//
// INVALID_ARGUMENT naming the field and the rule: no credential, a name
// twice or malformed, not exactly one of token_file and token_env, a page
// that is not an id (1 to 2^63-1) or "*", a page (or "*", or people) claimed
// by two credentials, an unknown key (a typo would otherwise go unnoticed),
// a client id without a secret or the other way round, a refresh token
// without both.
absl::StatusOr<std::vector<LinkedInCredentialConfig>> ParseLinkedInCredentials(
    absl::string_view json);

// Which credential serves a follows query: for the followee finder, the
// followee page's; for the follower finder, the follower page's, or for a
// person follower the credential with `people` (else the default). A page
// no credential names goes to the "*" credential.
class CredentialRouter {
 public:
  explicit CredentialRouter(const std::vector<LinkedInCredentialConfig>& credentials);

  // The index (into the credentials given) of the one that serves `query`;
  // FAILED_PRECONDITION (reason LINKEDIN_NO_CREDENTIAL) naming the page or
  // the person when none does.
  absl::StatusOr<int> Route(const FollowsQuery& query) const;

 private:
  std::map<std::string, int> by_page_;  // Page id -> credential.
  int default_ = -1;
  int people_ = -1;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_LINKEDIN_CREDENTIALS_H_
