// Opaque tokens that say where a stream or a list left off, signed with a
// key of the server's so that nobody else can make or alter one.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_RESUME_TOKEN_H_
#define FOLLOWGATE_SERVER_FOLLOWS_RESUME_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace followgate {

// The largest values a token may carry, far beyond anything a real read
// reaches (LinkedIn grants one page a minute), so that the arithmetic on
// them (next page, next sequence number) can never overflow.
inline constexpr int32_t kMaxTokenSequences = 2;  // members, then pages
inline constexpr int64_t kMaxTokenPage = 1'000'000'000'000;
inline constexpr int64_t kMaxTokenStreamSequence = 1'000'000'000'000;
inline constexpr int32_t kMaxTokenEdgeOffset = 10'000'000;

// A place in the pages of a request: the next page to deliver.
struct ResumePoint {
  // Identifies the request's query (QueryFingerprint); a token is only good
  // for the query it came from.
  uint64_t query_fingerprint = 0;
  // Which of the request's sequences (members, then pages, for "all"):
  // 0 to kMaxTokenSequences - 1.
  int32_t sequence_index = 0;
  // The snapshot being read in that sequence (> 0 in a token).
  int64_t snapshot_id = 0;
  // The next snapshot page to deliver (0 to kMaxTokenPage), and the offset of
  // the next edge in it (ListFollowers only; 0 to kMaxTokenEdgeOffset).
  int64_t page = 0;
  int32_t edge_offset = 0;
  // The stream sequence number of the next page (0 to
  // kMaxTokenStreamSequence).
  int64_t stream_sequence = 0;
};

// A stable 64-bit fingerprint (FNV-1a) of a query description.
uint64_t QueryFingerprint(absl::string_view description);

// Makes and checks resume tokens (and ListFollowers page tokens). Format
// `fg2`: the place as text, with a MAC of it: HMAC-SHA256 under a 32-byte
// key, truncated to 128 bits, compared in constant time. The unsigned `fg1`
// format of the previous release (a 32-bit FNV-1a check value) is still
// accepted, with the same bounds, for one release.
// Immutable once made: copyable and thread-safe.
class ResumeTokenCodec {
 public:
  static constexpr size_t kKeyBytes = 32;

  // A fresh random key: its tokens are good for this process only.
  // INTERNAL when the system has no randomness to give.
  static absl::StatusOr<ResumeTokenCodec> WithRandomKey();
  // The key kept in `path` (e.g. `<state_dir>/resume_token.key`), made when
  // the file does not exist: 32 random bytes, mode 0600, put in place with
  // one atomic link so that servers starting at once on one state dir all
  // read the same key. FAILED_PRECONDITION when the file cannot be read or
  // written, is readable by others than its owner, or is not 32 bytes.
  static absl::StatusOr<ResumeTokenCodec> FromKeyFile(const std::string& path);
  // A new random key of kKeyBytes bytes (e.g. for a fleet's shared key);
  // INTERNAL when the system has no randomness to give.
  static absl::StatusOr<std::string> NewKey();
  // `key` must hold kKeyBytes bytes.
  explicit ResumeTokenCodec(std::string key);

  // URL-safe text for `point`, in the `fg2` format.
  std::string Encode(const ResumePoint& point) const;
  // INVALID_ARGUMENT (naming `field`) for anything this codec's key did not
  // sign (or, deprecated, an `fg1` token), and for a token holding a number
  // beyond the bounds above.
  absl::StatusOr<ResumePoint> Decode(absl::string_view field, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view body) const;

  std::string key_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_RESUME_TOKEN_H_
