// Dispatches requests to handlers by path prefix, so several upstream
// emulations (LinkedIn's REST API, ConnectSafely, admin endpoints) can share
// one HttpServer. The longest mounted prefix that matches the request path
// wins; requests matching none go to the fallback handler.
//
// Thread-safe: Mount() may be called while requests are being routed.
// Handlers are called without any router lock held.

#ifndef FOLLOWGATE_SERVER_SANDBOX_HTTP_ROUTER_H_
#define FOLLOWGATE_SERVER_SANDBOX_HTTP_ROUTER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/sandbox/http_message.h"

namespace followgate {
namespace sandbox {

class HttpRouter {
 public:
  // `fallback` answers unmatched paths; it must be set.
  explicit HttpRouter(HttpHandler fallback);

  // Routes paths starting with `prefix` (e.g. "/rest/") to `handler`,
  // replacing any handler mounted on the same prefix.
  void Mount(const std::string& prefix, HttpHandler handler);

  HttpReply Route(const HttpRequest& request) const;

  // A handler for HttpServer that calls Route(). This router is not owned
  // and must outlive the server using the handler.
  HttpHandler AsHandler();

 private:
  using SharedHandler = std::shared_ptr<const HttpHandler>;

  SharedHandler Find(const std::string& path) const;

  const SharedHandler fallback_;
  mutable absl::Mutex mu_;
  std::map<std::string, SharedHandler> routes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_HTTP_ROUTER_H_
