// HttpClient over libcurl.
#ifndef FOLLOWGATE_SERVER_UPSTREAM_CURL_HTTP_CLIENT_H_
#define FOLLOWGATE_SERVER_UPSTREAM_CURL_HTTP_CLIENT_H_

#include "absl/time/time.h"
#include "server/upstream/http_client.h"

namespace followgate {

struct CurlHttpClientOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // Largest response body accepted; a larger one (even an endless one) is
  // cut off there and fails with INTERNAL naming the limit. LinkedIn's pages
  // of 1000 edges are a few hundred kilobytes.
  size_t max_body_bytes = 16 << 20;
};

// Thread-safe. Every request goes out on a fresh connection: libcurl silently
// re-sends a request whose reused keep-alive connection turns out dead, and
// such a hidden second request would break the upstream's rate limit (and
// could repeat a non-idempotent POST). At one request per minute, reuse
// would save nothing anyway. Never logs; error messages carry no header
// values (so no credentials).
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  const CurlHttpClientOptions options_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_UPSTREAM_CURL_HTTP_CLIENT_H_
