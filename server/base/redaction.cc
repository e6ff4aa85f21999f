#include "server/base/redaction.h"

#include <algorithm>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace followgate {
namespace {

// Every registered form of every secret, longest first, so that a longer
// form is replaced before a shorter one it contains.
class SecretRegistry {
 public:
  static SecretRegistry& Get() {
    static SecretRegistry* const registry = new SecretRegistry;
    return *registry;
  }

  void Add(std::vector<std::string> forms) {
    absl::MutexLock lock(&mu_);
    for (std::string& form : forms) {
      if (form.empty() || !seen_.insert(form).second) continue;
      forms_.push_back(std::move(form));
    }
    std::stable_sort(forms_.begin(), forms_.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
  }

  void ReplaceIn(std::string* text) const {
    absl::MutexLock lock(&mu_);
    for (const std::string& form : forms_) {
      if (text->find(form) == std::string::npos) continue;
      absl::StrReplaceAll({{form, kRedacted}}, text);
    }
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> forms_ ABSL_GUARDED_BY(mu_);
};

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 percent-encoding of every byte but the unreserved ones, with
// upper- or lower-case hex digits.
std::string PercentEncoded(absl::string_view secret, bool upper) {
  const char* const digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : secret) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', digits[c >> 4], digits[c & 0xF]};
    }
  }
  return out;
}

// The secret as it appears inside a JSON string.
std::string JsonEscaped(absl::string_view secret) {
  const std::string quoted = nlohmann::json(std::string(secret))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

// The secret as absl::Status::ToString() prints a payload holding it
// (CHexEscape): as is, and with its leading hex digits hex-escaped, as
// happens to hex digits that follow an escaped byte.
std::vector<std::string> CEscapedForms(absl::string_view secret) {
  std::vector<std::string> forms = {absl::CHexEscape(secret)};
  size_t digits = 0;
  std::string escaped;
  while (digits < secret.size() &&
         absl::ascii_isxdigit(static_cast<unsigned char>(secret[digits]))) {
    absl::StrAppend(&escaped, "\\x",
                    absl::Hex(static_cast<unsigned char>(secret[digits]), absl::kZeroPad2));
    ++digits;
  }
  if (digits > 0) forms.push_back(absl::StrCat(escaped, absl::CHexEscape(secret.substr(digits))));
  return forms;
}

bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Characters of an RFC 6750 token68 credential.
bool IsToken68Char(char c) {
  return IsUnreserved(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
}

// Characters that end a credential quoted after an Authorization label.
bool EndsCredential(char c) {
  return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == ',' ||
         c == ';' || c == '}' || c == ')' || c == '&' || c == '\\';
}

size_t SkipBlanks(absl::string_view text, size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return i;
}

// Replaces, after each case-insensitive occurrence of the word `label` for
// which `value_start` finds a value, the credential that starts there (ending
// where `in_credential` fails) by kRedacted. `value_start` returns npos when
// the occurrence has no value.
template <typename ValueStart, typename InCredential>
std::string RedactAfterLabel(absl::string_view text, absl::string_view label,
                             ValueStart value_start, InCredential in_credential) {
  const std::string lowered = absl::AsciiStrToLower(text);
  const absl::string_view lower = lowered;
  std::string out;
  size_t copied = 0;
  for (size_t at = lower.find(label); at != absl::string_view::npos;
       at = lower.find(label, at + 1)) {
    if (at < copied) continue;
    const size_t after = at + label.size();
    if ((at > 0 && IsWordChar(text[at - 1])) || (after < text.size() && IsWordChar(text[after]))) {
      continue;
    }
    const size_t start = value_start(text, after);
    if (start == absl::string_view::npos || start >= text.size()) continue;
    if (text.substr(start, kRedacted.size()) == kRedacted || text[start] == '<') continue;
    size_t end = start;
    while (end < text.size() && in_credential(text[end])) ++end;
    if (end == start) continue;
    absl::StrAppend(&out, text.substr(copied, start - copied), kRedacted);
    copied = end;
  }
  if (copied == 0) return std::string(text);
  absl::StrAppend(&out, text.substr(copied));
  return out;
}

// "Bearer <credential>": the credential follows one or more blanks.
std::string RedactBearer(absl::string_view text) {
  return RedactAfterLabel(
      text, "bearer",
      [](absl::string_view t, size_t i) {
        const size_t start = SkipBlanks(t, i);
        return start == i ? absl::string_view::npos : start;
      },
      IsToken68Char);
}

// "Authorization: <scheme> <credential>", "authorization=...", and the JSON
// form "\"authorization\": \"...\"": the label, a closing quote, ':' or '=',
// an opening quote, and an optional scheme word before the credential.
std::string RedactAuthorization(absl::string_view text) {
  return RedactAfterLabel(
      text, "authorization",
      [](absl::string_view t, size_t i) -> size_t {
        if (i < t.size() && (t[i] == '"' || t[i] == '\'')) ++i;
        i = SkipBlanks(t, i);
        if (i >= t.size() || (t[i] != ':' && t[i] != '=')) return absl::string_view::npos;
        i = SkipBlanks(t, i + 1);
        if (i < t.size() && (t[i] == '"' || t[i] == '\'')) ++i;
        size_t word = i;
        while (word < t.size() && absl::ascii_isalpha(static_cast<unsigned char>(t[word]))) ++word;
        const size_t credential = SkipBlanks(t, word);
        // A scheme ("Bearer", "Basic", ...) is a word followed by blanks and more.
        if (word > i && credential > word && credential < t.size() &&
            !EndsCredential(t[credential])) {
          return credential;
        }
        return i;
      },
      [](char c) { return !EndsCredential(c); });
}

}  // namespace

void RegisterSecret(absl::string_view secret) {
  secret = absl::StripAsciiWhitespace(secret);
  if (secret.size() < kMinRedactedSecretLength) return;
  std::string raw(secret);
  std::string json = JsonEscaped(secret);
  std::string json_slashes = absl::StrReplaceAll(json, {{"/", "\\/"}});
  std::vector<std::string> forms = {std::move(raw), PercentEncoded(secret, true),
                                    PercentEncoded(secret, false), std::move(json),
                                    std::move(json_slashes)};
  for (std::string& escaped : CEscapedForms(secret)) forms.push_back(std::move(escaped));
  SecretRegistry::Get().Add(std::move(forms));
}

std::string Redact(absl::string_view text) {
  std::string out(text);
  SecretRegistry::Get().ReplaceIn(&out);
  return RedactAuthorization(RedactBearer(out));
}

}  // namespace followgate
