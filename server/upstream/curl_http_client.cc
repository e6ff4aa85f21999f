#include "server/upstream/curl_http_client.h"

#include <curl/curl.h>

#include <mutex>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace followgate {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with libcurl's callbacks during one exchange.
struct Exchange {
  HttpResponse* response;
  size_t max_body_bytes;
  const CancellationToken* cancel;
  bool body_too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t n = size * count;
  if (exchange->response->body.size() + n > exchange->max_body_bytes) {
    exchange->body_too_large = true;
    return 0;  // Makes libcurl fail with CURLE_WRITE_ERROR.
  }
  exchange->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (after a 100 Continue): forget earlier headers.
    exchange->response->headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  exchange->response->headers.emplace_back(
      std::string(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* exchange = static_cast<Exchange*>(user);
  return exchange->cancel != nullptr && exchange->cancel->IsCancelled() ? 1 : 0;
}

// Maps a failed libcurl exchange to the transport errors HttpClient documents.
absl::Status TransportError(CURLcode code, const char* detail, bool nothing_sent,
                            const Exchange& exchange) {
  const std::string what =
      absl::StrCat(curl_easy_strerror(code), *detail ? ": " : "", detail);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: {
      absl::Status status =
          absl::DeadlineExceededError(absl::StrCat("HTTP request timed out (", what, ")"));
      return nothing_sent ? MarkRequestNeverSent(status) : status;
    }
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return MarkRequestNeverSent(
          absl::UnavailableError(absl::StrCat("could not connect (", what, ")")));
    case CURLE_PARTIAL_FILE:
      return absl::DataLossError(absl::StrCat("response body truncated (", what, ")"));
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::CancelledError("HTTP request cancelled");
    case CURLE_WRITE_ERROR:
      if (exchange.body_too_large) {
        return absl::OutOfRangeError(
            absl::StrCat("response body larger than the limit of ", exchange.max_body_bytes,
                         " bytes (--max_upstream_body_bytes); the rest was not read"));
      }
      break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR: {
      absl::Status status =
          absl::UnavailableError(absl::StrCat("connection failed (", what, ")"));
      return nothing_sent ? MarkRequestNeverSent(status) : status;
    }
    default:
      break;
  }
  return absl::InternalError(absl::StrCat("HTTP request failed (", what, ")"));
}

}  // namespace

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options)
    : options_(options) {
  InitCurlOnce();
}

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");

  HttpResponse response;
  Exchange exchange{&response, options_.max_body_bytes, request.cancel};
  char error_detail[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
  }
  // Never wait for "100 Continue" before sending a body.
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_detail);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  const CURLcode code = curl_easy_perform(curl);
  long status_code = 0;
  long request_bytes = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status_code);
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);

  if (code != CURLE_OK) {
    return TransportError(code, error_detail, request_bytes == 0, exchange);
  }
  response.status_code = static_cast<int>(status_code);
  return response;
}

}  // namespace followgate
