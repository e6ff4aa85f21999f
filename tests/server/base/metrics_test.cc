// Metrics as Prometheus scrapes them, over real HTTP on 127.0.0.1:0.
#include "server/base/metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/upstream/curl_http_client.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "metrics-label-secret-2e8f";

TEST(Metrics, LabelValuesAreRedacted) {
  RegisterSecret(kSecret);
  Metrics& metrics = Metrics::Get();
  metrics.RecordRpc("StreamFollowers", "OK", absl::StrCat("caller-", kSecret),
                    absl::Milliseconds(5));
  metrics.RecordUpstream("linkedin", absl::StrCat("Bearer ", kSecret), absl::Milliseconds(5));
  auto port = metrics.Expose("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  CurlHttpClient http;
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", *port, "/metrics");
  request.timeout = absl::Seconds(10);
  auto response = http.Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_THAT(response->body, Not(HasSubstr(kSecret)));
  EXPECT_THAT(response->body, HasSubstr(R"(caller="caller-[REDACTED]")"));
  EXPECT_THAT(response->body, HasSubstr(R"(outcome="Bearer [REDACTED]")"));
}

}  // namespace
}  // namespace followgate
