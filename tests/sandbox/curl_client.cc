#include "tests/sandbox/curl_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace followgate {
namespace sandbox {
namespace {

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

void InitCurlOnce() {
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

}  // namespace

CurlClient::CurlClient() {
  InitCurlOnce();
  handle_ = curl_easy_init();
}

CurlClient::~CurlClient() { curl_easy_cleanup(handle_); }

CurlResponse CurlClient::Get(const std::string& url,
                             const std::vector<std::string>& headers) {
  curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
  return Perform(url, headers);
}

CurlResponse CurlClient::Post(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers) {
  curl_easy_setopt(handle_, CURLOPT_POST, 1L);
  curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE,
                   static_cast<long>(body.size()));
  curl_easy_setopt(handle_, CURLOPT_COPYPOSTFIELDS, body.c_str());
  return Perform(url, headers);
}

CurlResponse CurlClient::Perform(const std::string& url,
                                 const std::vector<std::string>& headers) {
  CurlResponse response;
  curl_slist* list = nullptr;
  for (const std::string& header : headers) {
    list = curl_slist_append(list, header.c_str());
  }
  curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &response.body);
  response.code = curl_easy_perform(handle_);
  curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_getinfo(handle_, CURLINFO_NUM_CONNECTS, &response.new_connections);
  curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return response;
}

std::string UrlEncode(const std::string& text) {
  InitCurlOnce();
  char* escaped =
      curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string result(escaped);
  curl_free(escaped);
  return result;
}

std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string received;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
      0) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n =
          send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
      received.append(chunk, static_cast<size_t>(n));
    }
  }
  close(fd);
  return received;
}

}  // namespace sandbox
}  // namespace followgate
