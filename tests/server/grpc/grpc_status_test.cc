// ToGrpcStatus, rule by rule: codes, messages, the google.rpc details it
// carries and drops, and the redaction of everything it sends.
#include "server/grpc/grpc_status.h"

#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/base/error_details.h"
#include "server/base/redaction.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kSecret[] = "grpc-status-secret-31d7";

// The google.rpc.Status a call's trailer carries.
google::rpc::Status Sent(const grpc::Status& status) {
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  return rpc;
}

// The details of type `Message` that were sent.
template <typename Message>
std::vector<Message> SentDetails(const grpc::Status& status) {
  std::vector<Message> found;
  const google::rpc::Status rpc = Sent(status);
  for (const auto& any : rpc.details()) {
    Message message;
    if (any.Is<Message>()) {
      EXPECT_TRUE(any.UnpackTo(&message));
      found.push_back(message);
    }
  }
  return found;
}

// The one detail of type `Message` that was sent (a failure if not one).
template <typename Message>
Message SentDetail(const grpc::Status& status) {
  std::vector<Message> found = SentDetails<Message>(status);
  EXPECT_EQ(found.size(), 1u) << Message::descriptor()->full_name();
  return found.empty() ? Message() : found.front();
}

class ToGrpcStatusTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterSecret(kSecret); }
};

TEST_F(ToGrpcStatusTest, OkIsOkWithNothingAttached) {
  const grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_message(), "");
  EXPECT_EQ(status.error_details(), "");
}

TEST_F(ToGrpcStatusTest, EveryCodeKeepsItsNumber) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "failed");
    const grpc::Status sent = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(sent.error_code()), code) << status;
    EXPECT_EQ(Sent(sent).code(), code) << status;
  }
}

TEST_F(ToGrpcStatusTest, KeepsTheMessage) {
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("no such page"));
  EXPECT_EQ(status.error_message(), "no such page");
}

TEST_F(ToGrpcStatusTest, TheDetailsAreAGoogleRpcStatusWithTheSameCodeAndMessage) {
  const grpc::Status status = ToGrpcStatus(absl::FailedPreconditionError("snapshot gone"));
  const google::rpc::Status rpc = Sent(status);
  EXPECT_EQ(rpc.code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(rpc.message(), "snapshot gone");
}

TEST_F(ToGrpcStatusTest, AnErrorWithoutAReasonGetsOneNamedAfterItsCode) {
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("no such page"));
  const google::rpc::ErrorInfo info = SentDetail<google::rpc::ErrorInfo>(status);
  EXPECT_EQ(info.reason(), "NOT_FOUND");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_EQ(Sent(status).details_size(), 1);
}

TEST_F(ToGrpcStatusTest, TheCoresErrorInfoIsSentInsteadOfOneNamedAfterTheCode) {
  const grpc::Status status = ToGrpcStatus(WithErrorInfo(
      absl::NotFoundError("no such page"), "LINKEDIN_NOT_FOUND", {{"http_status", "404"}}));
  const google::rpc::ErrorInfo info = SentDetail<google::rpc::ErrorInfo>(status);
  EXPECT_EQ(info.reason(), "LINKEDIN_NOT_FOUND");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("http_status", "404")));
}

TEST_F(ToGrpcStatusTest, CarriesTheRetryInfo) {
  const grpc::Status status =
      ToGrpcStatus(WithRetryDelay(absl::UnavailableError("busy"), absl::Milliseconds(1500)));
  const google::rpc::RetryInfo retry = SentDetail<google::rpc::RetryInfo>(status);
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
}

TEST_F(ToGrpcStatusTest, CarriesTheBadRequest) {
  const grpc::Status status = ToGrpcStatus(InvalidField("followee", "followee must be a URN"));
  const google::rpc::BadRequest bad_request = SentDetail<google::rpc::BadRequest>(status);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "followee");
  EXPECT_EQ(bad_request.field_violations(0).description(), "followee must be a URN");
  EXPECT_EQ(SentDetail<google::rpc::ErrorInfo>(status).reason(), "INVALID_FIELD");
}

TEST_F(ToGrpcStatusTest, RedactsTheMessage) {
  const grpc::Status status =
      ToGrpcStatus(absl::UnauthenticatedError(absl::StrCat("token ", kSecret, " refused")));
  EXPECT_EQ(status.error_message(), "token [REDACTED] refused");
  EXPECT_EQ(Sent(status).message(), "token [REDACTED] refused");
}

TEST_F(ToGrpcStatusTest, RedactsTheKeysAndValuesOfTheErrorInfosMetadata) {
  absl::Status status = WithErrorInfo(absl::UnauthenticatedError("refused"), "LINKEDIN_TOKEN",
                                      {{"echo", absl::StrCat("upstream said ", kSecret)}});
  status = WithErrorMetadata(status, kSecret, "a key that is a secret");
  const grpc::Status sent = ToGrpcStatus(status);
  EXPECT_THAT(sent.error_details(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(SentDetail<google::rpc::ErrorInfo>(sent).metadata(),
              UnorderedElementsAre(Pair("echo", "upstream said [REDACTED]"),
                                   Pair("[REDACTED]", "a key that is a secret")));
}

TEST_F(ToGrpcStatusTest, RedactsTheErrorInfosReason) {
  const grpc::Status sent =
      ToGrpcStatus(WithErrorInfo(absl::InternalError("x"), absl::StrCat("R_", kSecret)));
  EXPECT_EQ(SentDetail<google::rpc::ErrorInfo>(sent).reason(), "R_[REDACTED]");
}

TEST_F(ToGrpcStatusTest, RedactsTheStringsOfRepeatedNestedMessages) {
  const grpc::Status sent =
      ToGrpcStatus(InvalidField(absl::StrCat("field_", kSecret), absl::StrCat("bad ", kSecret)));
  const google::rpc::BadRequest bad_request = SentDetail<google::rpc::BadRequest>(sent);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "field_[REDACTED]");
  EXPECT_EQ(bad_request.field_violations(0).description(), "bad [REDACTED]");
  EXPECT_THAT(sent.error_details(), Not(HasSubstr(kSecret)));
}

// Detail types the server does not build yet are redacted through
// reflection: singular and repeated strings, at any depth.
TEST_F(ToGrpcStatusTest, RedactsEveryStringOfADetailTypeTheServerDoesNotBuild) {
  absl::Status status = absl::InternalError("boom");
  google::rpc::DebugInfo debug;
  debug.add_stack_entries(absl::StrCat("frame ", kSecret));
  debug.set_detail(absl::StrCat("detail ", kSecret));
  status.SetPayload("type.googleapis.com/google.rpc.DebugInfo",
                    absl::Cord(debug.SerializeAsString()));
  google::rpc::Help help;
  google::rpc::Help::Link* link = help.add_links();
  link->set_description(absl::StrCat("see ", kSecret));
  link->set_url(absl::StrCat("https://example.com/?key=", kSecret));
  status.SetPayload("type.googleapis.com/google.rpc.Help", absl::Cord(help.SerializeAsString()));

  const grpc::Status sent = ToGrpcStatus(status);
  EXPECT_THAT(sent.error_details(), Not(HasSubstr(kSecret)));
  const google::rpc::DebugInfo sent_debug = SentDetail<google::rpc::DebugInfo>(sent);
  ASSERT_EQ(sent_debug.stack_entries_size(), 1);
  EXPECT_EQ(sent_debug.stack_entries(0), "frame [REDACTED]");
  EXPECT_EQ(sent_debug.detail(), "detail [REDACTED]");
  const google::rpc::Help sent_help = SentDetail<google::rpc::Help>(sent);
  ASSERT_EQ(sent_help.links_size(), 1);
  EXPECT_EQ(sent_help.links(0).description(), "see [REDACTED]");
  EXPECT_EQ(sent_help.links(0).url(), "https://example.com/?key=[REDACTED]");
}

TEST_F(ToGrpcStatusTest, InternalPayloadsStayInside) {
  absl::Status status = absl::InternalError("boom");
  status.SetPayload("type.followgate.dev/internal.Something", absl::Cord("inside"));
  const grpc::Status sent = ToGrpcStatus(status);
  EXPECT_THAT(sent.error_details(), Not(HasSubstr("inside")));
  const google::rpc::Status rpc = Sent(sent);
  ASSERT_EQ(rpc.details_size(), 1);
  EXPECT_TRUE(rpc.details(0).Is<google::rpc::ErrorInfo>());
}

TEST_F(ToGrpcStatusTest, GoogleRpcDetailsOfAnUnknownTypeAreDropped) {
  absl::Status status = absl::InternalError("boom");
  status.SetPayload("type.googleapis.com/google.rpc.NoSuchDetail", absl::Cord("opaque"));
  const google::rpc::Status rpc = Sent(ToGrpcStatus(status));
  ASSERT_EQ(rpc.details_size(), 1);
  EXPECT_TRUE(rpc.details(0).Is<google::rpc::ErrorInfo>());
}

TEST_F(ToGrpcStatusTest, AGoogleRpcDetailThatDoesNotParseIsDropped) {
  absl::Status status = absl::UnavailableError("busy");
  // A length-delimited field whose length runs past the end.
  status.SetPayload("type.googleapis.com/google.rpc.RetryInfo", absl::Cord("\x0a\x7f"));
  const grpc::Status sent = ToGrpcStatus(status);
  EXPECT_TRUE(SentDetails<google::rpc::RetryInfo>(sent).empty());
  EXPECT_EQ(Sent(sent).details_size(), 1);  // The ErrorInfo.
}

}  // namespace
}  // namespace followgate
