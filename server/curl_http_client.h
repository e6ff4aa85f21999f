// HttpClient over libcurl.
#ifndef FOLLOWGATE_SERVER_CURL_HTTP_CLIENT_H_
#define FOLLOWGATE_SERVER_CURL_HTTP_CLIENT_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http_client.h"

namespace followgate {

struct CurlHttpClientOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // Largest response body accepted; a larger one fails with INTERNAL.
  size_t max_body_bytes = 64 << 20;
};

// Thread-safe. Keeps finished easy handles for reuse so that connections to
// the upstream stay open between requests. Never logs; error messages carry
// no header values (so no credentials).
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  void* TakeHandle();
  void ReturnHandle(void* handle);

  const CurlHttpClientOptions options_;
  absl::Mutex mu_;
  std::vector<void*> idle_handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_CURL_HTTP_CLIENT_H_
