#include "client/error_text.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace followgate::cli {
namespace {

using ::testing::HasSubstr;

std::string Serialized(absl::string_view reason, int64_t delay_ms) {
  google::rpc::Status status;
  status.set_code(14);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain("followgate.dev");
  (*info.mutable_metadata())["resume_token"] = "fg2.abc";
  status.add_details()->PackFrom(info);
  if (delay_ms >= 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(delay_ms / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(delay_ms % 1000) * 1000000);
    status.add_details()->PackFrom(retry);
  }
  return status.SerializeAsString();
}

TEST(ErrorText, ParsesReasonMetadataAndRetryDelay) {
  ErrorDetails details = ParseErrorDetails(Serialized("SERVER_DRAINING", 1500));
  EXPECT_EQ(details.reason, "SERVER_DRAINING");
  EXPECT_EQ(details.metadata["resume_token"], "fg2.abc");
  EXPECT_EQ(details.retry_delay, absl::Milliseconds(1500));
}

TEST(ErrorText, GarbageAndAbsentDetailsAreEmpty) {
  EXPECT_EQ(ParseErrorDetails("").reason, "");
  EXPECT_EQ(ParseErrorDetails("\xff\xff\xff").retry_delay, std::nullopt);
}

TEST(ErrorText, PrintsReasonAndRetryDelayBesideTheCode) {
  EXPECT_EQ(DescribeError(absl::StatusCode::kUnavailable, "the server is shutting down",
                          ParseErrorDetails(Serialized("SERVER_DRAINING", 1000))),
            "UNAVAILABLE: the server is shutting down (reason SERVER_DRAINING, retry in 1s)");
  EXPECT_EQ(DescribeError(absl::StatusCode::kNotFound, "no such page",
                          ParseErrorDetails(Serialized("LINKEDIN_NOT_FOUND", -1))),
            "NOT_FOUND: no such page (reason LINKEDIN_NOT_FOUND)");
}

TEST(ErrorText, LeavesOutAReasonThatRepeatsTheCode) {
  EXPECT_EQ(DescribeError(absl::StatusCode::kCancelled, "gone",
                          ParseErrorDetails(Serialized("CANCELLED", -1))),
            "CANCELLED: gone");
  EXPECT_EQ(DescribeError(absl::StatusCode::kUnavailable, "Socket closed", ErrorDetails()),
            "UNAVAILABLE: Socket closed");
}

TEST(ErrorText, ExplainsTlsMismatchesInWords) {
  EXPECT_THAT(ExplainTlsFailure("Ssl handshake failed: SSL_ERROR_SSL: error:1000007d:SSL "
                                "routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED")
                  .value_or(""),
              HasSubstr("does not verify with --tls_ca_file"));
  EXPECT_THAT(ExplainTlsFailure("error:0A000086:SSL routines::certificate verify failed")
                  .value_or(""),
              HasSubstr("does not verify with --tls_ca_file"));
  EXPECT_THAT(ExplainTlsFailure("SSL routines::tlsv13 alert certificate required").value_or(""),
              HasSubstr("give --tls_cert_file and --tls_key_file"));
  EXPECT_THAT(ExplainTlsFailure("SSL routines::tlsv1 alert unknown ca").value_or(""),
              HasSubstr("refused this client's certificate"));
  EXPECT_THAT(ExplainTlsFailure("SSL routines::wrong version number").value_or(""),
              HasSubstr("does not speak TLS"));
  EXPECT_EQ(ExplainTlsFailure("failed to connect to all addresses; Connection refused"),
            std::nullopt);
  EXPECT_THAT(DescribeError(absl::StatusCode::kUnavailable,
                            "SSL routines::tlsv1 alert unknown ca", ErrorDetails()),
              HasSubstr("\n  (the server refused this client's certificate"));
}

TEST(ErrorText, HintsAtTlsWhenTheServerClosesTheConnectionBeforeAnswering) {
  const std::string closed =
      "failed to connect to all addresses; last error: UNAVAILABLE: "
      "ipv4:127.0.0.1:36421: Socket closed";
  EXPECT_THAT(HintForClosedConnection(closed).value_or(""),
              HasSubstr("may want a client certificate"));
  EXPECT_THAT(DescribeError(absl::StatusCode::kUnavailable, closed, ErrorDetails()),
              HasSubstr("\n  (the server closed the connection before answering"));
  EXPECT_EQ(HintForClosedConnection("failed to connect to all addresses; last error: "
                                    "Connection refused"),
            std::nullopt);
  // Only a hint: a closed connection is still worth a reconnect.
  EXPECT_EQ(ExplainTlsFailure(closed), std::nullopt);
}

}  // namespace
}  // namespace followgate::cli
