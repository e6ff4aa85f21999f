#include "server/grpc/caller_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Not a google.rpc payload, so it never leaves the process (see
// ToGrpcStatus).
constexpr absl::string_view kDeniedCallerPayload = "type.followgate.dev/internal.DeniedCaller";

bool KnownScope(absl::string_view scope) {
  return scope == kScopeFollowsRead || scope == kScopeInvitationsSend ||
         scope == kScopeInvitationsRead;
}

}  // namespace

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::vector<CallerEntry>> ParseCallers(absl::string_view json) {
  const nlohmann::json root = nlohmann::json::parse(json, nullptr, false);
  if (!root.is_object() || !root.contains("callers") || !root["callers"].is_array()) {
    return absl::InvalidArgumentError(
        "the callers file must be {\"callers\":[{\"name\":..., \"token_sha256\":..., "
        "\"scopes\":[...]}]}");
  }
  std::vector<CallerEntry> callers;
  std::set<std::string> names;
  int i = 0;
  for (const nlohmann::json& item : root["callers"]) {
    const std::string where = absl::StrCat("callers[", i++, "]");
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
        item["name"].get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, " needs a non-empty \"name\""));
    }
    CallerEntry entry;
    entry.name = item["name"].get<std::string>();
    if (!names.insert(entry.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, " repeats the name ", entry.name));
    }
    if (!item.contains("token_sha256") || !item["token_sha256"].is_string() ||
        !IsHex64(item["token_sha256"].get<std::string>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", entry.name, ") needs \"token_sha256\": 64 hex digits"));
    }
    entry.token_sha256 = absl::AsciiStrToLower(item["token_sha256"].get<std::string>());
    if (!item.contains("scopes") || !item["scopes"].is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(where, " (", entry.name,
                                                     ") needs \"scopes\": a list"));
    }
    for (const nlohmann::json& scope : item["scopes"]) {
      if (!scope.is_string() || !KnownScope(scope.get<std::string>())) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, " (", entry.name, ") has an unknown scope; known: follows.read, "
            "invitations.send, invitations.read"));
      }
      entry.scopes.insert(scope.get<std::string>());
    }
    callers.push_back(std::move(entry));
  }
  return callers;
}

std::optional<std::string> DeniedCallerName(const absl::Status& status) {
  const absl::optional<absl::Cord> name = status.GetPayload(kDeniedCallerPayload);
  if (!name.has_value()) return std::nullopt;
  return std::string(*name);
}

absl::StatusOr<std::unique_ptr<CallerAuth>> CallerAuth::Create(const std::string& path) {
  std::unique_ptr<CallerAuth> auth(new CallerAuth(path));
  if (!path.empty()) {
    if (absl::Status loaded = auth->Reload(); !loaded.ok()) return loaded;
  }
  return auth;
}

absl::Status CallerAuth::Reload() {
  if (path_.empty()) return absl::OkStatus();
  std::ifstream in(path_);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read callers file ", path_));
  std::stringstream contents;
  contents << in.rdbuf();
  absl::StatusOr<std::vector<CallerEntry>> callers = ParseCallers(contents.str());
  if (!callers.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("callers file ", path_, ": ", callers.status().message()));
  }
  absl::MutexLock lock(&mu_);
  callers_ = *std::move(callers);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CallerAuth::Authorize(absl::string_view authorization,
                                                  absl::string_view scope,
                                                  absl::string_view fallback_name) const {
  if (!enabled()) return std::string(fallback_name);
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kBearer) ||
      authorization.size() == kBearer.size()) {
    return WithErrorInfo(
        absl::UnauthenticatedError("no caller token: send \"authorization: Bearer <token>\""),
        "CALLER_TOKEN_MISSING");
  }
  const absl::string_view token = authorization.substr(kBearer.size());
  const std::string digest = Sha256Hex(token);
  absl::MutexLock lock(&mu_);
  for (const CallerEntry& caller : callers_) {
    if (CRYPTO_memcmp(caller.token_sha256.data(), digest.data(), digest.size()) != 0) continue;
    // Known tokens only (as many as callers), so the registry stays bounded.
    RegisterSecret(token);
    if (caller.scopes.count(std::string(scope)) == 0 &&
        !(scope == kScopeInvitationsRead && caller.scopes.count(std::string(kScopeInvitationsSend)))) {
      absl::Status denied = WithErrorInfo(
          absl::PermissionDeniedError(absl::StrCat("caller ", caller.name, " lacks the scope ",
                                                   scope)),
          "CALLER_SCOPE_MISSING", {{"scope", std::string(scope)}});
      denied.SetPayload(kDeniedCallerPayload, absl::Cord(caller.name));
      return denied;
    }
    return caller.name;
  }
  return WithErrorInfo(absl::UnauthenticatedError("unknown caller token"),
                       "CALLER_TOKEN_UNKNOWN");
}

}  // namespace followgate
