#include "server/upstream/http_client.h"

#include "absl/strings/match.h"

namespace followgate {
namespace {
constexpr absl::string_view kNeverSentPayload = "followgate.dev/request-never-sent";
}  // namespace

absl::string_view HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

absl::Status MarkRequestNeverSent(absl::Status status) {
  status.SetPayload(kNeverSentPayload, absl::Cord("1"));
  return status;
}

bool IsRequestNeverSent(const absl::Status& status) {
  return status.GetPayload(kNeverSentPayload).has_value();
}

}  // namespace followgate
