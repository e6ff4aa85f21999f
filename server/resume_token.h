// Opaque tokens that say where a stream or a list left off.
#ifndef FOLLOWGATE_SERVER_RESUME_TOKEN_H_
#define FOLLOWGATE_SERVER_RESUME_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate {

// A place in the pages of a request: the next page to deliver.
struct ResumePoint {
  // Identifies the request's query (QueryFingerprint); a token is only good
  // for the query it came from.
  uint64_t query_fingerprint = 0;
  // Which of the request's sequences (members, then pages, for "all").
  int32_t sequence_index = 0;
  // The snapshot being read in that sequence.
  int64_t snapshot_id = 0;
  // The next snapshot page to deliver, and the offset of the next edge in it
  // (ListFollowers only).
  int64_t page = 0;
  int32_t edge_offset = 0;
  // The stream sequence number of the next page.
  int64_t stream_sequence = 0;
};

// A stable 64-bit fingerprint (FNV-1a) of a query description.
uint64_t QueryFingerprint(absl::string_view description);

// URL-safe text; a checksum catches damaged or made-up tokens.
std::string EncodeResumeToken(const ResumePoint& point);
// INVALID_ARGUMENT (naming `field`) for anything EncodeResumeToken did not
// make.
absl::StatusOr<ResumePoint> DecodeResumeToken(absl::string_view field,
                                              absl::string_view token);

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_RESUME_TOKEN_H_
