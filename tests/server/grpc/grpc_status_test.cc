// ToGrpcStatus: codes, details, and the redaction of everything it sends.
#include "server/grpc/grpc_status.h"

#include <string>

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

constexpr char kSecret[] = "grpc-status-secret-31d7";

google::rpc::Status Sent(const grpc::Status& status) {
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  return rpc;
}

TEST(ToGrpcStatus, KeepsTheCodeAndGivesEveryErrorAReason) {
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("no such page"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such page");
  const google::rpc::Status rpc = Sent(status);
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "NOT_FOUND");
}

TEST(ToGrpcStatus, RedactsTheMessageAndEveryStringOfEveryDetail) {
  RegisterSecret(kSecret);
  absl::Status status = InvalidField("followee", absl::StrCat("bad value ", kSecret));
  status = WithErrorMetadata(status, "echo", absl::StrCat("upstream said ", kSecret));
  status = WithErrorMetadata(status, kSecret, "a key that is a secret");
  // A detail type nothing in the server builds yet: reflection finds its
  // strings too.
  google::rpc::DebugInfo debug;
  debug.add_stack_entries(absl::StrCat("frame ", kSecret));
  debug.set_detail(absl::StrCat("Authorization: Bearer ", kSecret));
  status.SetPayload("type.googleapis.com/google.rpc.DebugInfo",
                    absl::Cord(debug.SerializeAsString()));

  const grpc::Status sent = ToGrpcStatus(status);
  EXPECT_EQ(sent.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(sent.error_message(), "bad value [REDACTED]");
  EXPECT_THAT(sent.error_details(), Not(HasSubstr(kSecret)));
  const google::rpc::Status rpc = Sent(sent);
  EXPECT_EQ(rpc.message(), "bad value [REDACTED]");
  ASSERT_EQ(rpc.details_size(), 3);
  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad_request;
  google::rpc::DebugInfo sent_debug;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) ASSERT_TRUE(any.UnpackTo(&info));
    if (any.Is<google::rpc::BadRequest>()) ASSERT_TRUE(any.UnpackTo(&bad_request));
    if (any.Is<google::rpc::DebugInfo>()) ASSERT_TRUE(any.UnpackTo(&sent_debug));
  }
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.metadata().at("field"), "followee");
  EXPECT_EQ(info.metadata().at("echo"), "upstream said [REDACTED]");
  EXPECT_EQ(info.metadata().at("[REDACTED]"), "a key that is a secret");
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "followee");
  EXPECT_EQ(bad_request.field_violations(0).description(), "bad value [REDACTED]");
  ASSERT_EQ(sent_debug.stack_entries_size(), 1);
  EXPECT_EQ(sent_debug.stack_entries(0), "frame [REDACTED]");
  EXPECT_EQ(sent_debug.detail(), "Authorization: Bearer [REDACTED]");
}

TEST(ToGrpcStatus, InternalPayloadsAndUnknownDetailTypesStayInside) {
  absl::Status status = absl::InternalError("boom");
  status.SetPayload("type.followgate.dev/internal.Something", absl::Cord("inside"));
  status.SetPayload("type.googleapis.com/google.rpc.NoSuchDetail", absl::Cord("opaque"));
  const google::rpc::Status rpc = Sent(ToGrpcStatus(status));
  ASSERT_EQ(rpc.details_size(), 1);
  EXPECT_TRUE(rpc.details(0).Is<google::rpc::ErrorInfo>());
}

}  // namespace
}  // namespace followgate
