// A small blocking libcurl client for the sandbox tests: one easy handle, so
// consecutive requests reuse a kept-alive connection, plus a raw-socket
// exchange for sending bytes no HTTP client would send.
//
// Not thread-safe: use one CurlClient per thread.

#ifndef FOLLOWGATE_TESTS_SANDBOX_CURL_CLIENT_H_
#define FOLLOWGATE_TESTS_SANDBOX_CURL_CLIENT_H_

#include <curl/curl.h>

#include <string>
#include <vector>

namespace followgate {
namespace sandbox {

struct CurlResponse {
  CURLcode code = CURLE_OK;
  long status = 0;  // HTTP status, 0 when none was received.
  std::string body;
  long new_connections = 0;  // 0 when a kept-alive connection was reused.
};

class CurlClient {
 public:
  CurlClient();
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  CurlResponse Get(const std::string& url,
                   const std::vector<std::string>& headers = {});
  CurlResponse Post(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers = {});

 private:
  CurlResponse Perform(const std::string& url,
                       const std::vector<std::string>& headers);

  CURL* handle_;
};

// Percent-encodes every reserved character of `text`.
std::string UrlEncode(const std::string& text);

// Connects to 127.0.0.1:port, sends `bytes`, half-closes and returns all
// bytes received until the server closes (or 5 s pass).
std::string RawExchange(int port, const std::string& bytes);

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_TESTS_SANDBOX_CURL_CLIENT_H_
