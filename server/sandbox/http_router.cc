#include "server/sandbox/http_router.h"

#include <utility>

#include "absl/strings/match.h"

namespace followgate {
namespace sandbox {

HttpRouter::HttpRouter(HttpHandler fallback)
    : fallback_(std::make_shared<const HttpHandler>(std::move(fallback))) {}

void HttpRouter::Mount(const std::string& prefix, HttpHandler handler) {
  absl::MutexLock lock(&mu_);
  routes_[prefix] = std::make_shared<const HttpHandler>(std::move(handler));
}

HttpReply HttpRouter::Route(const HttpRequest& request) const {
  const SharedHandler handler = Find(request.path);
  return (*handler)(request);
}

HttpHandler HttpRouter::AsHandler() {
  return [this](const HttpRequest& request) { return Route(request); };
}

HttpRouter::SharedHandler HttpRouter::Find(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  SharedHandler best = fallback_;
  size_t best_length = 0;
  for (const auto& [prefix, handler] : routes_) {
    if (absl::StartsWith(path, prefix) && prefix.size() >= best_length) {
      best = handler;
      best_length = prefix.size();
    }
  }
  return best;
}

}  // namespace sandbox
}  // namespace followgate
