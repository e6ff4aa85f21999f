#include "server/testing/fake_http_client.h"

#include <utility>

#include "gtest/gtest.h"

namespace followgate {

FakeHttpClient::~FakeHttpClient() {
  absl::MutexLock lock(&mu_);
  for (const Expectation& e : script_) {
    ADD_FAILURE() << "expected request never came: " << e.url;
  }
}

void FakeHttpClient::Expect(std::string url, absl::StatusOr<HttpResponse> response) {
  absl::MutexLock lock(&mu_);
  script_.push_back({std::move(url), std::move(response)});
}

void FakeHttpClient::Expect(std::string url, int status, std::string body) {
  HttpResponse response;
  response.status_code = status;
  response.body = std::move(body);
  Expect(std::move(url), std::move(response));
}

absl::StatusOr<HttpResponse> FakeHttpClient::Send(const HttpRequest& request) {
  absl::MutexLock lock(&mu_);
  Sent sent{request, clock_ != nullptr ? clock_->Now() : absl::InfinitePast()};
  sent.request.cancel = nullptr;
  sent_.push_back(std::move(sent));
  if (script_.empty() && handler_) return handler_(request);
  if (script_.empty()) {
    ADD_FAILURE() << "unexpected request: " << request.url;
    return absl::InternalError("unexpected request");
  }
  Expectation next = std::move(script_.front());
  script_.pop_front();
  EXPECT_EQ(request.url, next.url);
  return std::move(next.response);
}

void FakeHttpClient::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

std::vector<FakeHttpClient::Sent> FakeHttpClient::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

}  // namespace followgate
