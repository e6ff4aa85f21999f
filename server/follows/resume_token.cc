#include "server/follows/resume_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/error_details.h"

namespace followgate {
namespace {

constexpr absl::string_view kVersion = "fg2";
// Deprecated: unsigned, accepted for one release.
constexpr absl::string_view kLegacyVersion = "fg1";
constexpr size_t kMacBytes = 16;
constexpr size_t kMaxTokenLength = 512;

uint64_t Fnv1a(absl::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

bool SameInConstantTime(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Status FileError(absl::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", what, " the resume token key ", path, ": ", std::strerror(errno)));
}

// Reads the key in `path`; NOT_FOUND when there is no such file.
absl::StatusOr<std::string> ReadKey(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(path);
    return FileError("open", path);
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const absl::Status error = FileError("inspect", path);
    close(fd);
    return error;
  }
  if (!S_ISREG(info.st_mode) || (info.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "the resume token key ", path,
        " must be a regular file readable by its owner only (chmod 600 it)"));
  }
  std::string key(ResumeTokenCodec::kKeyBytes + 1, '\0');
  const ssize_t got = read(fd, key.data(), key.size());
  const absl::Status read_error = got < 0 ? FileError("read", path) : absl::OkStatus();
  close(fd);
  if (!read_error.ok()) return read_error;
  if (static_cast<size_t>(got) != ResumeTokenCodec::kKeyBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the resume token key ", path, " holds ", got, " bytes instead of ",
        ResumeTokenCodec::kKeyBytes, "; delete it to make a new key (tokens handed out before "
        "then stop working)"));
  }
  key.resize(ResumeTokenCodec::kKeyBytes);
  return key;
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("the system gave no randomness for a resume token key");
  }
  return bytes;
}

// Writes a new key under a name of its own, then links it to `path`, which
// fails if another process put its key there first: then that one is kept.
absl::Status CreateKey(const std::string& path) {
  absl::StatusOr<std::string> key = RandomBytes(ResumeTokenCodec::kKeyBytes);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> suffix = RandomBytes(8);
  if (!suffix.ok()) return suffix.status();
  const std::string temporary =
      absl::StrCat(path, ".", getpid(), ".", absl::BytesToHexString(*suffix), ".tmp");
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return FileError("create", temporary);
  const bool written = write(fd, key->data(), key->size()) == static_cast<ssize_t>(key->size()) &&
                       fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  errno = saved;
  absl::Status status;
  if (!written) {
    status = FileError("write", temporary);
  } else if (link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = FileError("create", path);
  }
  unlink(temporary.c_str());
  return status;
}

}  // namespace

uint64_t QueryFingerprint(absl::string_view description) { return Fnv1a(description); }

absl::StatusOr<std::string> ResumeTokenCodec::NewKey() { return RandomBytes(kKeyBytes); }

absl::StatusOr<ResumeTokenCodec> ResumeTokenCodec::WithRandomKey() {
  absl::StatusOr<std::string> key = RandomBytes(kKeyBytes);
  if (!key.ok()) return key.status();
  return ResumeTokenCodec(*std::move(key));
}

absl::StatusOr<ResumeTokenCodec> ResumeTokenCodec::FromKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadKey(path);
  if (absl::IsNotFound(key.status())) {
    if (absl::Status created = CreateKey(path); !created.ok()) return created;
    key = ReadKey(path);
  }
  if (!key.ok()) return key.status();
  return ResumeTokenCodec(*std::move(key));
}

ResumeTokenCodec::ResumeTokenCodec(std::string key) : key_(std::move(key)) {}

std::string ResumeTokenCodec::Mac(absl::string_view body) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), std::min<size_t>(length, kMacBytes)));
}

std::string ResumeTokenCodec::Encode(const ResumePoint& p) const {
  const std::string body =
      absl::StrCat(kVersion, ".", absl::Hex(p.query_fingerprint), ".", p.sequence_index, ".",
                   p.snapshot_id, ".", p.page, ".", p.edge_offset, ".", p.stream_sequence);
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(body, ".", Mac(body)), &token);
  return token;
}

namespace {

// The place in a checked body, if every number is within its bounds.
bool ParsePoint(absl::string_view body, ResumePoint& p) {
  std::vector<absl::string_view> parts = absl::StrSplit(body, '.');
  return parts.size() == 7 && absl::SimpleHexAtoi(parts[1], &p.query_fingerprint) &&
         absl::SimpleAtoi(parts[2], &p.sequence_index) &&
         absl::SimpleAtoi(parts[3], &p.snapshot_id) && absl::SimpleAtoi(parts[4], &p.page) &&
         absl::SimpleAtoi(parts[5], &p.edge_offset) &&
         absl::SimpleAtoi(parts[6], &p.stream_sequence) && p.sequence_index >= 0 &&
         p.sequence_index < kMaxTokenSequences && p.snapshot_id > 0 && p.page >= 0 &&
         p.page <= kMaxTokenPage && p.edge_offset >= 0 && p.edge_offset <= kMaxTokenEdgeOffset &&
         p.stream_sequence >= 0 && p.stream_sequence <= kMaxTokenStreamSequence;
}

}  // namespace

absl::StatusOr<ResumePoint> ResumeTokenCodec::Decode(absl::string_view field,
                                                     absl::string_view token) const {
  const absl::Status invalid = InvalidField(
      field, absl::StrCat(field, " is not a token this service issued (damaged, made up, or "
                                 "from a server with another key)"));
  std::string text;
  if (token.size() > kMaxTokenLength || !absl::WebSafeBase64Unescape(token, &text)) {
    return invalid;
  }
  const size_t last_dot = text.rfind('.');
  if (last_dot == std::string::npos) return invalid;
  const absl::string_view body = absl::string_view(text).substr(0, last_dot);
  const absl::string_view check = absl::string_view(text).substr(last_dot + 1);
  bool checked = false;
  if (absl::StartsWith(body, absl::StrCat(kVersion, "."))) {
    checked = SameInConstantTime(check, Mac(body));
  } else if (absl::StartsWith(body, absl::StrCat(kLegacyVersion, "."))) {
    uint64_t value = 0;
    checked = absl::SimpleHexAtoi(check, &value) && value == (Fnv1a(body) & 0xffffffff);
  }
  ResumePoint p;
  if (!checked) return invalid;
  if (!ParsePoint(body, p)) {
    return InvalidField(
        field, absl::StrCat(field, " is not a token this service issued (a number in it is out "
                                   "of range)"));
  }
  return p;
}

}  // namespace followgate
