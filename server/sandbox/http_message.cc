#include "server/sandbox/http_message.h"

#include <utility>

#include "absl/strings/match.h"

namespace followgate {
namespace sandbox {

const std::string* HttpRequest::FindHeader(absl::string_view name) const {
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) return &header.value;
  }
  return nullptr;
}

HttpReply HttpReply::Json(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.headers.push_back({"Content-Type", "application/json"});
  reply.body = std::move(body);
  return reply;
}

HttpReply HttpReply::Reset() {
  HttpReply reply;
  reply.fault = HttpFault::kReset;
  return reply;
}

}  // namespace sandbox
}  // namespace followgate
