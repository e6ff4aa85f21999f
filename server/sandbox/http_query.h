// Query-string decoding with the rules real servers apply to a request
// target: parameters split on '&', name and value split on the first '=',
// "%XX" decoded to a byte and '+' decoded to a space
// (application/x-www-form-urlencoded). A client that sends a raw '+' inside a
// value (for example in a base64 cursor) therefore gets a space back.
//
// Pure functions; thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_HTTP_QUERY_H_
#define FOLLOWGATE_SERVER_SANDBOX_HTTP_QUERY_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace followgate {
namespace sandbox {

// Decoded (name, value) pairs in their original order; names may repeat.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// The offset of the first '%' in `encoded` that is not followed by two hex
// digits, or nullopt when every escape is well formed.
absl::optional<size_t> FindMalformedPercentEscape(absl::string_view encoded);

// Decodes one form-encoded component. InvalidArgument (naming the offset) on
// a malformed percent escape.
absl::StatusOr<std::string> FormDecode(absl::string_view encoded);

// Parses a raw query (the part after '?', without it). Empty parts ("a=1&&b")
// are skipped; a part without '=' has an empty value. InvalidArgument on a
// malformed percent escape anywhere.
absl::StatusOr<QueryParams> ParseQueryString(absl::string_view raw_query);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_HTTP_QUERY_H_
