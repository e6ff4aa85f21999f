// Fuzzes the sandbox's HTTP/1.x request parser
// (server/sandbox/http_request_parser.h): any request head parses or is an
// error that maps to a 4xx/5xx answer.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "server/sandbox/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view head(reinterpret_cast<const char*>(data), size);
  auto request = followgate::sandbox::ParseRequestHead(head);
  if (!request.ok()) {
    const int status = followgate::sandbox::HttpStatusForParseError(request.status());
    if (status < 400 || status > 599) std::abort();
    return 0;
  }
  auto length = followgate::sandbox::RequestBodyLength(*request);
  if (!length.ok()) {
    const int status = followgate::sandbox::HttpStatusForParseError(length.status());
    if (status < 400 || status > 599) std::abort();
  }
  followgate::sandbox::WantsKeepAlive(*request);
  return 0;
}
