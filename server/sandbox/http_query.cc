#include "server/sandbox/http_query.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace followgate {
namespace sandbox {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::optional<size_t> FindMalformedPercentEscape(absl::string_view encoded) {
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') continue;
    if (i + 2 >= encoded.size()) return i;
    if (HexValue(encoded[i + 1]) < 0 || HexValue(encoded[i + 2]) < 0) return i;
    i += 2;
  }
  return absl::nullopt;
}

absl::StatusOr<std::string> FormDecode(absl::string_view encoded) {
  if (absl::optional<size_t> bad = FindMalformedPercentEscape(encoded)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed percent escape at offset ", *bad));
  }
  std::string decoded;
  decoded.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+') {
      decoded.push_back(' ');
    } else if (c == '%') {
      decoded.push_back(static_cast<char>(HexValue(encoded[i + 1]) * 16 +
                                          HexValue(encoded[i + 2])));
      i += 2;
    } else {
      decoded.push_back(c);
    }
  }
  return decoded;
}

absl::StatusOr<QueryParams> ParseQueryString(absl::string_view raw_query) {
  QueryParams params;
  for (absl::string_view part : absl::StrSplit(raw_query, '&')) {
    if (part.empty()) continue;
    const std::pair<absl::string_view, absl::string_view> name_value =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> name = FormDecode(name_value.first);
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value = FormDecode(name_value.second);
    if (!value.ok()) return value.status();
    params.emplace_back(*std::move(name), *std::move(value));
  }
  return params;
}

}  // namespace sandbox
}  // namespace followgate
