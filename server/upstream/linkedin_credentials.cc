#include "server/upstream/linkedin_credentials.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/upstream/urn.h"

namespace followgate {
namespace {

constexpr size_t kMaxNameLength = 40;

bool IsName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status Invalid(const std::string& field, absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("--linkedin_credentials_file: ", field, " ", rule));
}

// An optional string member; INVALID_ARGUMENT when present and not a string.
absl::StatusOr<std::string> OptionalString(const nlohmann::json& object, const char* key,
                                           const std::string& field) {
  auto it = object.find(key);
  if (it == object.end()) return std::string();
  if (!it->is_string()) return Invalid(absl::StrCat(field, ".", key), "must be a string");
  return it->get<std::string>();
}

absl::StatusOr<LinkedInCredentialConfig> ParseOne(const nlohmann::json& entry,
                                                 const std::string& field) {
  if (!entry.is_object()) return Invalid(field, "must be an object");
  static const std::set<std::string> kKeys = {
      "name",      "token_file",         "token_env",         "pages",
      "people",    "budget",             "client_id",         "client_secret_file",
      "client_secret_env", "refresh_token_file"};
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (kKeys.count(it.key()) == 0) {
      return Invalid(absl::StrCat(field, ".", QuoteForMessage(it.key())),
                     "is not a credential key (name, token_file, token_env, pages, people, "
                     "budget, client_id, client_secret_file, client_secret_env, "
                     "refresh_token_file)");
    }
  }
  LinkedInCredentialConfig credential;
  absl::StatusOr<std::string> name = OptionalString(entry, "name", field);
  if (!name.ok()) return name.status();
  if (!IsName(*name)) {
    return Invalid(absl::StrCat(field, ".name"), "must be 1 to 40 of a-z 0-9 _ -");
  }
  credential.name = *name;
  const std::string named = absl::StrCat(field, " (\"", credential.name, "\")");
  absl::StatusOr<std::string> file = OptionalString(entry, "token_file", named);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> env = OptionalString(entry, "token_env", named);
  if (!env.ok()) return env.status();
  if (file->empty() == env->empty()) {
    return Invalid(named, "needs exactly one of token_file and token_env");
  }
  credential.token_file = *file;
  credential.token_env = *env;
  auto pages = entry.find("pages");
  if (pages == entry.end() || !pages->is_array() || pages->empty()) {
    return Invalid(absl::StrCat(named, ".pages"),
                   "must be a non-empty list of page ids (\"1000\") or \"*\"");
  }
  for (const nlohmann::json& page : *pages) {
    const std::string text = page.is_string() ? page.get<std::string>()
                             : page.is_number_unsigned() ? std::to_string(page.get<uint64_t>())
                                                         : std::string();
    if (text == "*") {
      credential.pages.push_back(text);
      continue;
    }
    std::optional<std::string> id = CanonicalNumericId(text);
    if (!id.has_value()) {
      return Invalid(absl::StrCat(named, ".pages"),
                     absl::StrCat("holds ", QuoteForMessage(page.dump()),
                                  ", not a page id (1 to 2^63-1) or \"*\""));
    }
    credential.pages.push_back(*id);
  }
  if (auto people = entry.find("people"); people != entry.end()) {
    if (!people->is_boolean()) return Invalid(absl::StrCat(named, ".people"), "must be true or false");
    credential.people = people->get<bool>();
  }
  absl::StatusOr<std::string> budget = OptionalString(entry, "budget", named);
  if (!budget.ok()) return budget.status();
  if (!budget->empty() && !IsName(*budget)) {
    return Invalid(absl::StrCat(named, ".budget"), "must be 1 to 40 of a-z 0-9 _ -");
  }
  credential.budget = budget->empty() ? credential.name : *budget;
  for (auto [key, value] : {std::pair{"client_id", &credential.client_id},
                            std::pair{"client_secret_file", &credential.client_secret_file},
                            std::pair{"client_secret_env", &credential.client_secret_env},
                            std::pair{"refresh_token_file", &credential.refresh_token_file}}) {
    absl::StatusOr<std::string> text = OptionalString(entry, key, named);
    if (!text.ok()) return text.status();
    *value = *text;
  }
  const bool has_secret =
      !credential.client_secret_file.empty() || !credential.client_secret_env.empty();
  if (!credential.client_secret_file.empty() && !credential.client_secret_env.empty()) {
    return Invalid(named, "needs at most one of client_secret_file and client_secret_env");
  }
  if (credential.client_id.empty() != !has_secret) {
    return Invalid(named, "needs client_id and a client secret together");
  }
  if (!credential.refresh_token_file.empty() && credential.client_id.empty()) {
    return Invalid(named, "needs client_id and a client secret for its refresh_token_file");
  }
  return credential;
}

}  // namespace

absl::StatusOr<std::vector<LinkedInCredentialConfig>> ParseLinkedInCredentials(
    absl::string_view json) {
  const nlohmann::json root = nlohmann::json::parse(json, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return Invalid("the file", "is not a JSON object");
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() != "credentials") {
      return Invalid(QuoteForMessage(it.key()), "is not a key of the file (credentials)");
    }
  }
  auto list = root.find("credentials");
  if (list == root.end() || !list->is_array() || list->empty()) {
    return Invalid("credentials", "must be a non-empty list");
  }
  std::vector<LinkedInCredentialConfig> credentials;
  std::map<std::string, std::string> page_owner;
  std::set<std::string> names;
  std::string people_owner;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string field = absl::StrCat("credentials[", i, "]");
    absl::StatusOr<LinkedInCredentialConfig> credential = ParseOne((*list)[i], field);
    if (!credential.ok()) return credential.status();
    if (!names.insert(credential->name).second) {
      return Invalid(absl::StrCat(field, ".name"),
                     absl::StrCat("\"", credential->name, "\" is given twice"));
    }
    for (const std::string& page : credential->pages) {
      auto [owner, inserted] = page_owner.emplace(page, credential->name);
      if (!inserted) {
        return Invalid(absl::StrCat(field, ".pages"),
                       absl::StrCat(page == "*" ? "\"*\"" : absl::StrCat("page ", page),
                                    " is served by \"", owner->second, "\" already"));
      }
    }
    if (credential->people) {
      if (!people_owner.empty()) {
        return Invalid(absl::StrCat(field, ".people"),
                       absl::StrCat("is true for \"", people_owner, "\" already"));
      }
      people_owner = credential->name;
    }
    credentials.push_back(*std::move(credential));
  }
  return credentials;
}

CredentialRouter::CredentialRouter(const std::vector<LinkedInCredentialConfig>& credentials) {
  for (size_t i = 0; i < credentials.size(); ++i) {
    const int index = static_cast<int>(i);
    for (const std::string& page : credentials[i].pages) {
      if (page == "*") {
        default_ = index;
      } else {
        by_page_.emplace(page, index);
      }
    }
    if (credentials[i].people) people_ = index;
  }
}

absl::StatusOr<int> CredentialRouter::Route(const FollowsQuery& query) const {
  const absl::string_view urn = query.urn;
  if (absl::StartsWith(urn, kOrganizationalPageUrnPrefix)) {
    const std::string id(urn.substr(kOrganizationalPageUrnPrefix.size()));
    if (auto it = by_page_.find(id); it != by_page_.end()) return it->second;
    if (default_ >= 0) return default_;
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "no LinkedIn credential serves page ", id,
            " (add it to a credential's pages in --linkedin_credentials_file, or give one "
            "\"*\")")),
        "LINKEDIN_NO_CREDENTIAL", {{"page", id}});
  }
  // A person follower (the follower finder): the people credential.
  if (people_ >= 0) return people_;
  if (default_ >= 0) return default_;
  return WithErrorInfo(
      absl::FailedPreconditionError(
          "no LinkedIn credential serves person followers (give one \"people\": true, or "
          "\"*\", in --linkedin_credentials_file)"),
      "LINKEDIN_NO_CREDENTIAL", {{"follower", std::string(urn)}});
}

}  // namespace followgate
