// Who a call is for and until when: AuthorizeCall and CallDeadline on the
// contexts of real calls to a one-method server on 127.0.0.1:0; CallerForLog
// and CallerMetricLabel on what CallerAuth answers.
#include "server/grpc/call_identity.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/grpc/caller_auth.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace followgate {
namespace {

using ::followgate::testing::IsOk;
using ::followgate::testing::NewTempDir;
using ::followgate::testing::StatusIs;

constexpr char kToken[] = "call-identity-token-5c1e";

// A CallerAuth whose one caller, "etl", holds `token` with only
// follows.read.
std::unique_ptr<CallerAuth> AuthWithEtl() {
  const std::string path = NewTempDir("callers") + "/callers.json";
  std::ofstream(path) << R"({"callers":[{"name":"etl","token_sha256":")" << Sha256Hex(kToken)
                      << R"(","scopes":["follows.read"]}]})";
  absl::StatusOr<std::unique_ptr<CallerAuth>> auth = CallerAuth::Create(path);
  EXPECT_THAT(auth, IsOk());
  return auth.ok() ? *std::move(auth) : nullptr;
}

// What the server saw of one call.
struct Seen {
  absl::StatusOr<std::string> caller = absl::UnknownError("no call");
  absl::Time deadline;
};

// ListFollowers only, answering nothing: it records what AuthorizeCall and
// CallDeadline make of each call's context.
class IdentityRecorder final : public v1::FollowsService::CallbackService {
 public:
  IdentityRecorder(const CallerAuth* auth, absl::string_view scope)
      : auth_(auth), scope_(scope) {}

  grpc::ServerUnaryReactor* ListFollowers(grpc::CallbackServerContext* context,
                                          const v1::ListFollowersRequest*,
                                          v1::ListFollowersResponse*) override {
    Seen seen;
    seen.caller = AuthorizeCall(auth_, *context, scope_);
    seen.deadline = CallDeadline(*context);
    {
      absl::MutexLock lock(&mu_);
      last_ = std::move(seen);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  Seen last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  const CallerAuth* const auth_;
  const std::string scope_;
  absl::Mutex mu_;
  Seen last_ ABSL_GUARDED_BY(mu_);
};

class CallIdentityTest : public ::testing::Test {
 protected:
  ~CallIdentityTest() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Serves on 127.0.0.1:0, authenticating with `auth` (null: no auth).
  void Serve(std::unique_ptr<CallerAuth> auth, absl::string_view scope = kScopeFollowsRead) {
    auth_ = std::move(auth);
    recorder_ = std::make_unique<IdentityRecorder>(auth_.get(), scope);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(recorder_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = v1::FollowsService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  // Makes one call with `context` and returns what the server saw of it.
  Seen Call(grpc::ClientContext& context) {
    v1::ListFollowersResponse response;
    const grpc::Status status = stub_->ListFollowers(&context, {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return recorder_->last();
  }

  std::unique_ptr<CallerAuth> auth_;
  std::unique_ptr<IdentityRecorder> recorder_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::FollowsService::Stub> stub_;
};

TEST_F(CallIdentityTest, WithoutAuthenticationTheCallerIsNamedByItsCallerHeader) {
  Serve(nullptr);
  grpc::ClientContext context;
  context.AddMetadata("x-followgate-caller", "nightly-export");
  EXPECT_EQ(Call(context).caller.value_or("refused"), "nightly-export");
}

TEST_F(CallIdentityTest, WithoutAuthenticationOrHeaderTheCallerIsItsAddressWithoutThePort) {
  Serve(nullptr);
  grpc::ClientContext context;
  EXPECT_EQ(Call(context).caller.value_or("refused"), "ipv4:127.0.0.1");
}

TEST_F(CallIdentityTest, ACallerAuthWithoutACallersFileAuthenticatesNobody) {
  absl::StatusOr<std::unique_ptr<CallerAuth>> off = CallerAuth::Create("");
  ASSERT_THAT(off, IsOk());
  Serve(*std::move(off));
  grpc::ClientContext context;
  context.AddMetadata("x-followgate-caller", "nightly-export");
  EXPECT_EQ(Call(context).caller.value_or("refused"), "nightly-export");
}

TEST_F(CallIdentityTest, WithAuthenticationAKnownTokenWithTheScopeIsTheCallersName) {
  Serve(AuthWithEtl());
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
  EXPECT_EQ(Call(context).caller.value_or("refused"), "etl");
}

TEST_F(CallIdentityTest, WithAuthenticationTheCallerHeaderNamesNobody) {
  Serve(AuthWithEtl());
  grpc::ClientContext context;
  context.AddMetadata("x-followgate-caller", "etl");
  EXPECT_THAT(Call(context).caller, StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(CallIdentityTest, WithAuthenticationAnUnknownTokenIsUnauthenticated) {
  Serve(AuthWithEtl());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer not-the-token-at-all");
  EXPECT_THAT(Call(context).caller, StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(CallIdentityTest, WithAuthenticationACallerWithoutTheScopeIsPermissionDenied) {
  Serve(AuthWithEtl(), kScopeInvitationsSend);
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
  EXPECT_THAT(Call(context).caller, StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(CallIdentityTest, CallDeadlineIsTheCallersDeadline) {
  Serve(nullptr);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  // The deadline travels as a timeout, which gRPC rounds up (the coarser the
  // longer it is) and the server counts from the call's arrival: the
  // server's deadline is the caller's or a little later.
  const absl::Time seen = Call(context).deadline;
  EXPECT_GE(seen, deadline - absl::Milliseconds(1));
  EXPECT_LT(seen, deadline + absl::Seconds(5));
}

TEST_F(CallIdentityTest, CallDeadlineWithoutOneIsTheInfiniteFuture) {
  Serve(nullptr);
  grpc::ClientContext context;
  EXPECT_EQ(Call(context).deadline, absl::InfiniteFuture());
}

TEST(CallerForLog, AnAuthorizedCallerIsItsName) {
  EXPECT_EQ(CallerForLog(std::string("etl")), "etl");
}

TEST(CallerForLog, ACallWithoutAValidTokenIsUnauthenticated) {
  std::unique_ptr<CallerAuth> auth = AuthWithEtl();
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(CallerForLog(auth->Authorize("", kScopeFollowsRead, "")), "unauthenticated");
  EXPECT_EQ(CallerForLog(auth->Authorize("Bearer guess", kScopeFollowsRead, "")),
            "unauthenticated");
}

TEST(CallerForLog, ACallerRefusedForLackingAScopeIsStillNamed) {
  std::unique_ptr<CallerAuth> auth = AuthWithEtl();
  ASSERT_NE(auth, nullptr);
  const absl::StatusOr<std::string> denied =
      auth->Authorize(absl::StrCat("Bearer ", kToken), kScopeInvitationsSend, "");
  ASSERT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(CallerForLog(denied), "etl");
}

TEST(CallerForLog, AnyOtherRefusalIsUnknown) {
  EXPECT_EQ(CallerForLog(absl::PermissionDeniedError("no name attached")), "unknown");
  EXPECT_EQ(CallerForLog(absl::InternalError("broken")), "unknown");
}

TEST(CallerMetricLabel, WithAuthenticationIsTheCallersName) {
  std::unique_ptr<CallerAuth> auth = AuthWithEtl();
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(CallerMetricLabel(auth.get(), "etl"), "etl");
}

TEST(CallerMetricLabel, WithoutAuthenticationIsUnauthenticatedWhateverTheName) {
  absl::StatusOr<std::unique_ptr<CallerAuth>> off = CallerAuth::Create("");
  ASSERT_THAT(off, IsOk());
  EXPECT_EQ(CallerMetricLabel(nullptr, "nightly-export"), "unauthenticated");
  EXPECT_EQ(CallerMetricLabel(off->get(), "nightly-export"), "unauthenticated");
}

}  // namespace
}  // namespace followgate
