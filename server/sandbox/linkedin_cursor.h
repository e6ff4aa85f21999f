// Opaque pagination cursors for the emulated LinkedIn finders.
//
// A cursor is standard base64 of a 28-byte blob: a fixed prefix (which
// encodes as "+/+/"), a format version, the fingerprint of the query it
// belongs to, the offset and page number of the page it asks for, and a
// checksum. Its text therefore always holds '+', '/' and '=' padding, so a
// client that forgets to percent-encode it sends a '+' that the server
// decodes as a space, and the cursor no longer verifies.
//
// Pure functions; thread-safe.

#ifndef FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_CURSOR_H_
#define FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_CURSOR_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace followgate {
namespace sandbox {

struct CursorState {
  uint64_t query_fingerprint = 0;  // See QueryFingerprint().
  int64_t offset = 0;              // Index of the first element to return.
  int64_t page_number = 1;  // 1-based number of the page in its sequence.
};

// A stable 64-bit fingerprint of a query's identity (finder and arguments,
// not the page size).
uint64_t QueryFingerprint(absl::string_view query_identity);

std::string EncodeCursor(const CursorState& state);

// The state inside `cursor`, or nullopt when it is not a canonical cursor
// produced by EncodeCursor() (wrong characters, length, prefix or checksum).
absl::optional<CursorState> DecodeCursor(absl::string_view cursor);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_LINKEDIN_CURSOR_H_
