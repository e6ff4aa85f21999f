#include "server/upstream/recording_http_client.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_http_client.h"
#include "tests/testing/stderr_capture.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The one "upstream" line among the captured ones.
nlohmann::json UpstreamLine(const std::string& captured) {
  nlohmann::json found;
  size_t start = 0;
  int lines = 0;
  while (start < captured.size()) {
    size_t end = captured.find('\n', start);
    if (end == std::string::npos) end = captured.size();
    nlohmann::json line = nlohmann::json::parse(captured.substr(start, end - start), nullptr,
                                                /*allow_exceptions=*/false);
    if (line.is_object() && line.value("event", "") == "upstream") {
      found = line;
      ++lines;
    }
    start = end + 1;
  }
  EXPECT_EQ(lines, 1) << captured;
  return found;
}

HttpRequest RequestTo(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  request.headers = {{"Authorization", "Bearer do-not-log-me"}};
  request.body = "body-not-logged";
  request.upstream = "linkedin";
  request.log_fields = {{"urn", std::string("urn:li:organizationalPage:42")},
                        {"first_page", true}};
  return request;
}

TEST(RecordingHttpClientTest, LogsOneLineWithTheRequestsFieldsOutcomeDurationAndSize) {
  FakeClock clock;
  FakeHttpClient inner;
  inner.SetHandler([&](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    clock.Advance(absl::Milliseconds(250));  // The exchange takes 250 ms.
    HttpResponse response;
    response.status_code = 200;
    response.body = std::string(1234, 'x');
    return response;
  });
  RecordingHttpClient client(&inner, &clock);
  testing::StderrCapture capture;
  auto response = client.Send(RequestTo("http://linkedin/x"));
  const std::string captured = capture.Stop();
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body.size(), 1234u);
  const nlohmann::json line = UpstreamLine(captured);
  EXPECT_EQ(line["upstream"], "linkedin");
  EXPECT_EQ(line["urn"], "urn:li:organizationalPage:42");
  EXPECT_EQ(line["first_page"], true);
  EXPECT_EQ(line["outcome"], "200");
  EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 250.0);  // By the injected clock.
  EXPECT_EQ(line["bytes"], 1234);
}

TEST(RecordingHttpClientTest, ATransportErrorIsLoggedByItsCodeAndPassedOnUnchanged) {
  FakeClock clock;
  FakeHttpClient inner;
  inner.Expect("http://linkedin/x", absl::DeadlineExceededError("timed out"));
  RecordingHttpClient client(&inner, &clock);
  testing::StderrCapture capture;
  auto response = client.Send(RequestTo("http://linkedin/x"));
  const std::string captured = capture.Stop();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  const nlohmann::json line = UpstreamLine(captured);
  EXPECT_EQ(line["outcome"], "DEADLINE_EXCEEDED");
  EXPECT_EQ(line["bytes"], 0);
}

TEST(RecordingHttpClientTest, NeverLogsHeadersOrBodies) {
  FakeClock clock;
  FakeHttpClient inner;
  inner.Expect("http://linkedin/x", 401, "{\"message\":\"token do-not-log-me rejected\"}");
  RecordingHttpClient client(&inner, &clock);
  testing::StderrCapture capture;
  ASSERT_TRUE(client.Send(RequestTo("http://linkedin/x")).ok());
  const std::string captured = capture.Stop();
  EXPECT_EQ(UpstreamLine(captured)["outcome"], "401");
  EXPECT_THAT(captured, Not(HasSubstr("do-not-log-me")));
  EXPECT_THAT(captured, Not(HasSubstr("body-not-logged")));
}

}  // namespace
}  // namespace followgate
