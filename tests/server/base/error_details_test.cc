// The google.rpc details on absl::Status: what each helper attaches, and
// that it is read back as the google.rpc message gRPC callers decode.
#include "server/base/error_details.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace followgate {
namespace {

using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kRetryInfoUrl[] = "type.googleapis.com/google.rpc.RetryInfo";
constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";

// The detail of type `Message` the status carries under `url`; fails the
// test when there is none or it does not parse.
template <typename Message>
Message DetailOf(const absl::Status& status, absl::string_view url) {
  Message message;
  absl::optional<absl::Cord> payload = status.GetPayload(url);
  EXPECT_TRUE(payload.has_value()) << "no " << url << " on " << status;
  if (payload.has_value()) EXPECT_TRUE(message.ParseFromString(std::string(*payload)));
  return message;
}

int PayloadCount(const absl::Status& status) {
  int count = 0;
  status.ForEachPayload([&](absl::string_view, const absl::Cord&) { ++count; });
  return count;
}

TEST(WithErrorInfo, AttachesAGoogleRpcErrorInfoWithReasonDomainAndMetadata) {
  const absl::Status status = WithErrorInfo(absl::NotFoundError("no such page"),
                                            "LINKEDIN_NOT_FOUND", {{"http_status", "404"}});
  const auto info = DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  EXPECT_EQ(info.reason(), "LINKEDIN_NOT_FOUND");
  EXPECT_EQ(info.domain(), "followgate.dev");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("http_status", "404")));
}

TEST(WithErrorInfo, KeepsTheCodeAndTheMessage) {
  const absl::Status status =
      WithErrorInfo(absl::NotFoundError("no such page"), "LINKEDIN_NOT_FOUND");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such page");
}

TEST(WithErrorInfo, ReplacesAnEarlierErrorInfoAndItsMetadata) {
  absl::Status status =
      WithErrorInfo(absl::UnavailableError("later"), "FIRST", {{"first", "1"}});
  status = WithErrorInfo(status, "SECOND", {{"second", "2"}});
  const auto info = DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  EXPECT_EQ(info.reason(), "SECOND");
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("second", "2")));
}

TEST(WithErrorMetadata, AddsAnEntryKeepingTheReasonAndTheOtherEntries) {
  absl::Status status =
      WithErrorInfo(absl::UnavailableError("drain"), "SERVER_DRAINING", {{"a", "1"}});
  status = WithErrorMetadata(status, "resume_token", "tok");
  const auto info = DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  EXPECT_EQ(info.reason(), "SERVER_DRAINING");
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("a", "1"), Pair("resume_token", "tok")));
}

TEST(WithErrorMetadata, ReplacesTheValueOfAnExistingKey) {
  absl::Status status = WithErrorInfo(absl::UnavailableError("x"), "R", {{"key", "old"}});
  status = WithErrorMetadata(status, "key", "new");
  EXPECT_THAT(DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl).metadata(),
              UnorderedElementsAre(Pair("key", "new")));
}

TEST(WithErrorMetadata, WithoutAnErrorInfoMakesOneNamedAfterTheCode) {
  const absl::Status status =
      WithErrorMetadata(absl::DeadlineExceededError("late"), "resume_token", "tok");
  const auto info = DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  EXPECT_EQ(info.reason(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("resume_token", "tok")));
}

TEST(WithRetryDelay, AttachesAGoogleRpcRetryInfoWithSecondsAndNanos) {
  const absl::Status status =
      WithRetryDelay(absl::UnavailableError("busy"), absl::Milliseconds(2500));
  const auto info = DetailOf<google::rpc::RetryInfo>(status, kRetryInfoUrl);
  EXPECT_EQ(info.retry_delay().seconds(), 2);
  EXPECT_EQ(info.retry_delay().nanos(), 500000000);
}

TEST(WithRetryDelay, ANegativeDelayIsZero) {
  const absl::Status status = WithRetryDelay(absl::UnavailableError("busy"), absl::Seconds(-3));
  const auto info = DetailOf<google::rpc::RetryInfo>(status, kRetryInfoUrl);
  EXPECT_EQ(info.retry_delay().seconds(), 0);
  EXPECT_EQ(info.retry_delay().nanos(), 0);
}

TEST(WithRetryDelay, KeepsTheErrorInfo) {
  const absl::Status status = WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError("held"), "BUDGET_HELD"), absl::Seconds(1));
  EXPECT_THAT(ErrorReason(status), Optional(std::string("BUDGET_HELD")));
  EXPECT_THAT(RetryDelay(status), Optional(absl::Seconds(1)));
}

TEST(RetryDelay, ReadsBackTheDelayToTheNanosecond) {
  const absl::Duration delay = absl::Seconds(90) + absl::Nanoseconds(7);
  EXPECT_THAT(RetryDelay(WithRetryDelay(absl::UnavailableError("busy"), delay)),
              Optional(delay));
}

TEST(RetryDelay, IsNothingWithoutARetryInfo) {
  EXPECT_EQ(RetryDelay(absl::UnavailableError("busy")), std::nullopt);
  EXPECT_EQ(RetryDelay(WithErrorInfo(absl::UnavailableError("busy"), "R")), std::nullopt);
}

TEST(ErrorReason, IsTheReasonOfTheErrorInfo) {
  EXPECT_THAT(ErrorReason(WithErrorInfo(absl::InternalError("x"), "STORAGE_FULL")),
              Optional(std::string("STORAGE_FULL")));
}

TEST(ErrorReason, IsNothingWithoutAnErrorInfo) {
  EXPECT_EQ(ErrorReason(absl::InternalError("x")), std::nullopt);
  EXPECT_EQ(ErrorReason(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(ErrorReason(WithRetryDelay(absl::InternalError("x"), absl::Seconds(1))),
            std::nullopt);
}

TEST(InvalidField, IsInvalidArgumentWithTheMessage) {
  const absl::Status status = InvalidField("followee", "followee must be a URN");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "followee must be a URN");
}

TEST(InvalidField, CarriesOneFieldViolationNamingTheField) {
  const absl::Status status = InvalidField("max_staleness", "max_staleness is negative");
  const auto bad_request = DetailOf<google::rpc::BadRequest>(status, kBadRequestUrl);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "max_staleness");
  EXPECT_EQ(bad_request.field_violations(0).description(), "max_staleness is negative");
}

TEST(InvalidField, HasReasonInvalidFieldWithTheFieldInItsMetadata) {
  const absl::Status status = InvalidField("page_size", "page_size must not be negative");
  const auto info = DetailOf<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(), UnorderedElementsAre(Pair("field", "page_size")));
}

TEST(QuoteForMessage, QuotesTheValue) {
  EXPECT_EQ(QuoteForMessage("urn:li:company:1"), "\"urn:li:company:1\"");
  EXPECT_EQ(QuoteForMessage(""), "\"\"");
}

TEST(QuoteForMessage, KeepsEightyCharactersWhole) {
  const std::string eighty(80, 'x');
  EXPECT_EQ(QuoteForMessage(eighty), "\"" + eighty + "\"");
}

TEST(QuoteForMessage, CutsALongerValueAfterEightyCharacters) {
  const std::string value = std::string(80, 'x') + "tail";
  EXPECT_EQ(QuoteForMessage(value), "\"" + std::string(80, 'x') + "...\"");
}

TEST(RewordStatus, ChangesOnlyTheMessage) {
  const absl::Status reworded =
      RewordStatus(absl::PermissionDeniedError("old words"), "new words");
  EXPECT_EQ(reworded.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(reworded.message(), "new words");
}

TEST(RewordStatus, KeepsEveryPayloadAlsoOnesThatAreNotGoogleRpc) {
  absl::Status status = WithRetryDelay(InvalidField("followee", "old"), absl::Seconds(4));
  status.SetPayload("type.followgate.dev/internal", absl::Cord("inside"));
  const absl::Status reworded = RewordStatus(status, "new");
  EXPECT_EQ(PayloadCount(reworded), 4);
  EXPECT_THAT(ErrorReason(reworded), Optional(std::string("INVALID_FIELD")));
  EXPECT_THAT(RetryDelay(reworded), Optional(absl::Seconds(4)));
  const auto bad_request = DetailOf<google::rpc::BadRequest>(reworded, kBadRequestUrl);
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "followee");
  EXPECT_THAT(reworded.GetPayload("type.followgate.dev/internal"),
              Optional(absl::Cord("inside")));
}

TEST(StatusForLog, NamesTheCodeReasonAndRetryDelayWithoutSerializedPayloads) {
  const absl::Status status = WithRetryDelay(
      WithErrorInfo(absl::UnavailableError("LinkedIn failed"), "LINKEDIN_UNAVAILABLE"),
      absl::Seconds(30));
  EXPECT_EQ(StatusForLog(status),
            "UNAVAILABLE (LINKEDIN_UNAVAILABLE, retry in 30s): LinkedIn failed");
  EXPECT_EQ(StatusForLog(absl::NotFoundError("gone")), "NOT_FOUND: gone");
  EXPECT_EQ(StatusForLog(WithRetryDelay(absl::UnavailableError("x"), absl::Seconds(1))),
            "UNAVAILABLE (retry in 1s): x");
}

}  // namespace
}  // namespace followgate
