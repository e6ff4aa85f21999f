// The whole server in process on 127.0.0.1:0, driven by the generated stub,
// against the LinkedIn sandbox over real libcurl.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/base/metrics.h"
#include "server/grpc/server.h"
#include "server/sandbox/linkedin_sandbox.h"
#include "server/upstream/curl_http_client.h"

namespace followgate {
namespace {

using ::testing::HasSubstr;

class FollowsServiceTest : public ::testing::Test {
 protected:
  void Start(absl::Duration interval, std::vector<sandbox::SeededPage> pages,
             absl::Duration drain_grace = absl::Seconds(10)) {
    sandbox::LinkedInSandboxOptions sandbox_options;
    sandbox_options.pages = std::move(pages);
    sandbox_options.min_interval = interval * 0.5;
    auto linkedin = sandbox::LinkedInSandbox::Start(sandbox_options);
    ASSERT_TRUE(linkedin.ok()) << linkedin.status();
    linkedin_ = *std::move(linkedin);

    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.linkedin.base_url = linkedin_->base_url();
    options.linkedin.access_token = sandbox_options.access_token;
    options.linkedin_min_interval = interval;
    options.fetcher.timeout_backoff = absl::Milliseconds(100);
    options.drain_grace = drain_grace;
    options.heartbeat_interval = heartbeat_interval_;
    options.max_stream_duration = max_stream_duration_;
    options.state_dir = state_dir_;
    options.fetcher.rejected_token_retry = rejected_token_retry_;
    auto server = FollowgateServer::BuildAndStart(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::FollowsService::NewStub(channel_);
  }

  std::string state_dir_;  // "": state in memory.
  absl::Duration heartbeat_interval_ = absl::Seconds(10);
  absl::Duration max_stream_duration_ = absl::Minutes(50);
  absl::Duration rejected_token_retry_ = absl::Minutes(5);
  std::unique_ptr<sandbox::LinkedInSandbox> linkedin_;
  std::unique_ptr<FollowgateServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FollowsService::Stub> stub_;
};

v1::StreamFollowersRequest FollowersOf(int page, v1::FollowerFilter filter) {
  v1::StreamFollowersRequest request;
  request.set_followee(absl::StrCat("urn:li:organizationalPage:", page));
  request.set_follower_filter(filter);
  return request;
}

// The google.rpc details of a failed call.
struct Details {
  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad_request;
  google::rpc::RetryInfo retry;
  bool has_retry = false;
};

Details DetailsOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc.code(), status.error_code());
  Details details;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&details.info);
    if (any.Is<google::rpc::BadRequest>()) any.UnpackTo(&details.bad_request);
    if (any.Is<google::rpc::RetryInfo>()) details.has_retry = any.UnpackTo(&details.retry);
  }
  return details;
}

TEST_F(FollowsServiceTest, StreamsEveryFollowerInPagesWithTheirMetadata) {
  Start(absl::Milliseconds(20), {{42, 2100, 5}});
  grpc::ClientContext context;
  auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_ALL));
  v1::FollowerPage page;
  std::vector<v1::FollowerPage> pages;
  while (reader->Read(&page)) pages.push_back(page);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(pages.size(), 4u);  // 1000 + 1000 + 100 members, then 5 pages.
  std::set<std::string> followers;
  for (size_t i = 0; i < pages.size(); ++i) {
    EXPECT_EQ(pages[i].sequence_number(), static_cast<int64_t>(i));
    EXPECT_EQ(pages[i].last_page(), i == 3);
    EXPECT_TRUE(pages[i].has_fetch_time());
    for (const auto& edge : pages[i].edges()) followers.insert(edge.follower().urn());
  }
  EXPECT_EQ(pages[0].upstream_total(), 2100);
  EXPECT_EQ(pages[3].edge_type(),
            v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE);
  EXPECT_EQ(followers.size(), 2105u);
  EXPECT_EQ(linkedin_->Stats().requests, 4);
}

TEST_F(FollowsServiceTest, ListSnapshotsPagesThroughBothSequencesWithTheIdsPagesCarry) {
  Start(absl::Milliseconds(20), {{42, 2100, 5}});
  std::vector<int64_t> streamed_ids;
  {
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_ALL));
    v1::FollowerPage page;
    while (reader->Read(&page)) {
      if (streamed_ids.empty() || streamed_ids.back() != page.snapshot_id()) {
        streamed_ids.push_back(page.snapshot_id());
      }
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  ASSERT_EQ(streamed_ids.size(), 2u);  // Members', then pages'.
  v1::ListSnapshotsRequest request;
  request.set_followee("urn:li:organizationalPage:42");
  request.set_page_size(1);
  std::vector<v1::Snapshot> listed;
  do {
    grpc::ClientContext context;
    v1::ListSnapshotsResponse response;
    const grpc::Status status = stub_->ListSnapshots(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_LE(response.snapshots_size(), 1);
    for (const auto& snapshot : response.snapshots()) listed.push_back(snapshot);
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].snapshot_id(), streamed_ids[0]);
  EXPECT_EQ(listed[0].edge_type(), v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE);
  EXPECT_TRUE(listed[0].complete());
  EXPECT_EQ(listed[0].page_count(), 3);
  EXPECT_TRUE(listed[0].has_complete_time());
  EXPECT_EQ(listed[1].snapshot_id(), streamed_ids[1]);
  EXPECT_EQ(listed[1].page_count(), 1);

  grpc::ClientContext context;
  v1::ListSnapshotsResponse response;
  request.set_page_token("9.x");
  const grpc::Status bad = stub_->ListSnapshots(&context, request, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), ::testing::HasSubstr("page_token"));
}

TEST_F(FollowsServiceTest, InvalidRequestFailsBeforeAnyUpstreamRequest) {
  Start(absl::Milliseconds(20), {{42, 10, 0}});
  grpc::ClientContext context;
  v1::StreamFollowingRequest request;
  request.set_follower("urn:li:fsd_profile:ACoAAB");
  auto reader = stub_->StreamFollowing(&context, request);
  v1::FollowingPage page;
  EXPECT_FALSE(reader->Read(&page));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("follower must be urn:li:person:{id} or "
                        "urn:li:organizationalPage:{digits}"));
  EXPECT_EQ(linkedin_->Stats().requests, 0);
}

// The process's metrics (one registry for every part, the server's pacer
// included), served once per process on a port of its own.
absl::StatusOr<int> MetricsPort() {
  static const absl::StatusOr<int>* const port =
      new absl::StatusOr<int>(Metrics::Get().Expose("127.0.0.1:0"));
  return *port;
}

// The value of the unlabelled metric `name`, scraped as Prometheus does.
absl::StatusOr<double> ScrapeMetric(absl::string_view name) {
  absl::StatusOr<int> port = MetricsPort();
  if (!port.ok()) return port.status();
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", *port, "/metrics");
  request.timeout = absl::Seconds(10);
  absl::StatusOr<HttpResponse> response = CurlHttpClient().Send(request);
  if (!response.ok()) return response.status();
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    double value = 0;
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, " ") &&
        absl::SimpleAtod(line, &value)) {
      return value;
    }
  }
  return absl::NotFoundError(absl::StrCat(name, " is not among the metrics"));
}

// Waits until `waiting` requests wait for LinkedIn's budget (the
// followgate_budget_queue_length gauge the pacer keeps), checking every 10 ms
// for at most 30 s.
::testing::AssertionResult BudgetWaitersBecome(int waiting) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (;;) {
    absl::StatusOr<double> value = ScrapeMetric("followgate_budget_queue_length");
    if (!value.ok()) return ::testing::AssertionFailure() << value.status();
    if (*value == waiting) return ::testing::AssertionSuccess();
    if (absl::Now() > give_up) {
      return ::testing::AssertionFailure()
             << *value << " requests still wait for the budget after 30 s, not " << waiting;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// With an interval and a heartbeat of an hour, the crawl's 2nd request waits
// an hour for the budget, and nothing but the caller's cancellation or
// deadline can end that wait within the test.
TEST_F(FollowsServiceTest, CancelledStreamStopsItsCrawlWaitingForTheBudget) {
  heartbeat_interval_ = absl::Hours(1);
  Start(absl::Hours(1), {{42, 5000, 0}});
  grpc::ClientContext context;
  auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
  v1::FollowerPage page;
  ASSERT_TRUE(reader->Read(&page));
  ASSERT_TRUE(BudgetWaitersBecome(1));  // The crawl's 2nd request.
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(BudgetWaitersBecome(0));
  EXPECT_EQ(linkedin_->Stats().requests, 1);
}

TEST_F(FollowsServiceTest, CallerDeadlineStopsItsCrawlWaitingForTheBudget) {
  heartbeat_interval_ = absl::Hours(1);
  Start(absl::Hours(1), {{42, 5000, 0}});
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
  v1::FollowerPage page;
  ASSERT_TRUE(reader->Read(&page));
  ASSERT_TRUE(BudgetWaitersBecome(1));  // The crawl's 2nd request.
  EXPECT_FALSE(reader->Read(&page));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(BudgetWaitersBecome(0));
  EXPECT_EQ(linkedin_->Stats().requests, 1);
}

TEST_F(FollowsServiceTest, ConcurrentStreamsShareTheRateLimitWithoutThrottling) {
  Start(absl::Milliseconds(60), {{1, 2500, 0}, {2, 2500, 0}, {3, 2500, 0}});
  std::vector<std::thread> callers;
  std::vector<int> edges(3, 0);
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&, i] {
      grpc::ClientContext context;
      auto reader =
          stub_->StreamFollowers(&context, FollowersOf(i + 1, v1::FOLLOWER_FILTER_MEMBERS));
      v1::FollowerPage page;
      while (reader->Read(&page)) edges[i] += page.edges_size();
      EXPECT_TRUE(reader->Finish().ok());
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_THAT(edges, ::testing::ElementsAre(2500, 2500, 2500));
  const auto stats = linkedin_->Stats();
  EXPECT_EQ(stats.requests, 9);
  EXPECT_EQ(stats.throttled, 0);
  // The sandbox records requests as its threads finish them, which under
  // load is not the order they arrived in.
  std::vector<absl::Time> arrivals;
  for (const auto& request : linkedin_->Requests()) arrivals.push_back(request.arrival_time);
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i] - arrivals[i - 1], absl::Milliseconds(30));
  }
}

TEST_F(FollowsServiceTest, DrainTurnsHealthNotServingAndEndsStreamsWithTheirResumeToken) {
  Start(absl::Hours(1), {{42, 5000, 0}}, /*drain_grace=*/absl::Milliseconds(300));
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto check = [&](const std::string& service) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(&context, request, &response);
    return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
  };
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check("followgate.v1.FollowsService"),
            grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::ClientContext context;
  auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
  v1::FollowerPage page;
  ASSERT_TRUE(reader->Read(&page));
  std::thread stopper([&] { server_->Shutdown(); });
  EXPECT_FALSE(reader->Read(&page));
  const grpc::Status status = reader->Finish();
  stopper.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  const Details details = DetailsOf(status);
  EXPECT_EQ(details.info.reason(), "SERVER_DRAINING");
  EXPECT_EQ(details.info.metadata().at("resume_token"), page.resume_token());
  EXPECT_TRUE(details.has_retry);
}

TEST_F(FollowsServiceTest, StreamCutByMaxStreamDurationResumesExactlyAfterItsLastPage) {
  // 6 pages at one request per 150 ms take at least 750 ms: a 400 ms stream
  // is cut at least once, each time with the token of the last page it sent.
  max_stream_duration_ = absl::Milliseconds(400);
  Start(absl::Milliseconds(150), {{42, 5500, 0}});
  std::vector<std::string> followers;
  std::string token;
  int cuts = 0;
  bool done = false;
  for (int attempt = 0; attempt < 40 && !done; ++attempt) {
    v1::StreamFollowersRequest request = FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS);
    request.set_resume_token(token);
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, request);
    v1::FollowerPage page;
    std::string last_token;
    while (reader->Read(&page)) {
      if (page.has_heartbeat()) continue;
      for (const auto& edge : page.edges()) followers.push_back(edge.follower().urn());
      last_token = page.resume_token();
      done = page.last_page();
    }
    const grpc::Status status = reader->Finish();
    if (done) {
      EXPECT_TRUE(status.ok()) << status.error_message();
      break;
    }
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("max_stream_duration"));
    const Details details = DetailsOf(status);
    EXPECT_EQ(details.info.reason(), "STREAM_DURATION");
    EXPECT_TRUE(details.has_retry);
    if (last_token.empty()) {
      // No page in this stream: no token; the caller sends what it sent.
      EXPECT_EQ(details.info.metadata().count("resume_token"), 0u);
    } else {
      ASSERT_EQ(details.info.metadata().count("resume_token"), 1u);
      EXPECT_EQ(details.info.metadata().at("resume_token"), last_token);
      token = details.info.metadata().at("resume_token");
    }
    ++cuts;
  }
  ASSERT_TRUE(done);
  EXPECT_GE(cuts, 1);
  EXPECT_EQ(followers.size(), 5500u);
  EXPECT_EQ(std::set<std::string>(followers.begin(), followers.end()).size(), 5500u);
}

TEST_F(FollowsServiceTest, MaxStreamDurationNotBelowConnectionAgePlusGraceIsRefused) {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.linkedin.access_token = "unused-token-0123";
  options.max_connection_age = absl::Minutes(30);
  options.max_connection_age_grace = absl::Minutes(30);
  options.max_stream_duration = absl::Hours(1);
  auto server = FollowgateServer::BuildAndStart(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("max_stream_duration"));
  options.max_stream_duration = absl::ZeroDuration();
  EXPECT_EQ(FollowgateServer::BuildAndStart(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Reads `request` to its end; its status.
grpc::Status StreamToEnd(v1::FollowsService::Stub* stub, const v1::StreamFollowersRequest& request) {
  grpc::ClientContext context;
  auto reader = stub->StreamFollowers(&context, request);
  v1::FollowerPage page;
  while (reader->Read(&page)) {
  }
  return reader->Finish();
}

TEST_F(FollowsServiceTest, RejectedTokenFailsFastWithoutARequestWhileWarmSnapshotsAreServed) {
  Start(absl::Milliseconds(20), {{42, 10, 0}, {43, 10, 0}});
  ASSERT_TRUE(StreamToEnd(stub_.get(), FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS)).ok());
  linkedin_->AddFaults({sandbox::SandboxFault::Status(401)});
  EXPECT_EQ(StreamToEnd(stub_.get(), FollowersOf(43, v1::FOLLOWER_FILTER_MEMBERS)).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const int64_t requests = linkedin_->Stats().requests;
  // LinkedIn would answer now (the fault is spent), but the token is known
  // rejected: no request.
  const grpc::Status fast = StreamToEnd(stub_.get(), FollowersOf(43, v1::FOLLOWER_FILTER_MEMBERS));
  EXPECT_EQ(fast.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(fast.error_message(), HasSubstr("not sent again before a new token"));
  EXPECT_EQ(linkedin_->Stats().requests, requests);
  EXPECT_TRUE(StreamToEnd(stub_.get(), FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS)).ok());  // Warm.
}

TEST_F(FollowsServiceTest, RejectedLinkedInTokenTurnsOnlyItsCredentialNotServing) {
  rejected_token_retry_ = absl::ZeroDuration();  // Every request asks LinkedIn.
  Start(absl::Milliseconds(20), {{42, 10, 0}});
  linkedin_->AddFaults({sandbox::SandboxFault::Status(401)});
  grpc::ClientContext context;
  auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
  v1::FollowerPage page;
  while (reader->Read(&page)) {
  }
  const grpc::Status rejected = reader->Finish();
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Named by its credential, never by its token.
  EXPECT_THAT(rejected.error_message(), HasSubstr("LinkedIn credential \"default\""));
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto status_of = [&](const std::string& service) {
    grpc::ClientContext health_context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&health_context, request, &response).ok()) << service;
    return response.status();
  };
  const std::string credential = LinkedInCredentialHealthName("default");
  EXPECT_EQ(credential, "followgate.linkedin.credential.default");
  EXPECT_EQ(status_of(credential), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // The server still serves what it can (warm snapshots): a readiness probe
  // keeps it in the load balancer.
  EXPECT_EQ(status_of(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(status_of("followgate.v1.FollowsService"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  // The next accepted request turns it back.
  grpc::ClientContext again;
  auto ok_reader = stub_->StreamFollowers(&again, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
  while (ok_reader->Read(&page)) {
  }
  EXPECT_TRUE(ok_reader->Finish().ok());
  EXPECT_EQ(status_of(credential), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(FollowsServiceTest, ErrorsCarryReasonFieldViolationsAndRetryDelays) {
  Start(absl::Milliseconds(20), {{42, 10, 0}});
  {
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, FollowersOf(0, v1::FOLLOWER_FILTER_ALL));
    v1::FollowerPage page;
    reader->Read(&page);
    v1::StreamFollowersRequest bad;
    bad.set_followee("urn:li:company:1");
    grpc::ClientContext bad_context;
    auto bad_reader = stub_->StreamFollowers(&bad_context, bad);
    EXPECT_FALSE(bad_reader->Read(&page));
    const grpc::Status status = bad_reader->Finish();
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    const Details details = DetailsOf(status);
    EXPECT_EQ(details.info.reason(), "INVALID_FIELD");
    EXPECT_EQ(details.info.domain(), "followgate.dev");
    ASSERT_EQ(details.bad_request.field_violations_size(), 1);
    EXPECT_EQ(details.bad_request.field_violations(0).field(), "followee");
    reader->Finish();
  }
  {
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, FollowersOf(404, v1::FOLLOWER_FILTER_ALL));
    v1::FollowerPage page;
    EXPECT_FALSE(reader->Read(&page));
    const grpc::Status status = reader->Finish();
    ASSERT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    const Details details = DetailsOf(status);
    EXPECT_EQ(details.info.reason(), "LINKEDIN_NOT_FOUND");
    EXPECT_EQ(details.info.metadata().at("http_status"), "404");
  }
  {
    linkedin_->AddFaults({sandbox::SandboxFault::Status(503), sandbox::SandboxFault::Status(503),
                          sandbox::SandboxFault::Status(503), sandbox::SandboxFault::Status(503),
                          sandbox::SandboxFault::Status(503), sandbox::SandboxFault::Status(503)});
    grpc::ClientContext context;
    auto reader = stub_->StreamFollowers(&context, FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS));
    v1::FollowerPage page;
    while (reader->Read(&page)) {
    }
    const grpc::Status status = reader->Finish();
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    const Details details = DetailsOf(status);
    EXPECT_EQ(details.info.reason(), "LINKEDIN_UNAVAILABLE");
    ASSERT_TRUE(details.has_retry);
    EXPECT_EQ(details.retry.retry_delay().nanos(), 100000000);  // The 100 ms backoff.
  }
}

}  // namespace
}  // namespace followgate

namespace followgate {
namespace {

// Reads a whole stream; returns its status.
grpc::Status ReadAll(v1::FollowsService::Stub* stub, const v1::StreamFollowersRequest& request,
                     std::vector<v1::FollowerPage>* pages = nullptr) {
  grpc::ClientContext context;
  auto reader = stub->StreamFollowers(&context, request);
  v1::FollowerPage page;
  while (reader->Read(&page)) {
    if (pages != nullptr) pages->push_back(page);
  }
  return reader->Finish();
}

// What anyone could make of a real token in the unsigned fg1 format: the
// same place with another stream sequence number.
std::string ForgedLegacyToken(const std::string& real, absl::string_view stream_sequence) {
  std::string text;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(real, &text));
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  EXPECT_EQ(parts.size(), 8u);
  parts.resize(7);
  parts[0] = "fg1";
  parts[6] = std::string(stream_sequence);
  const std::string body = absl::StrJoin(parts, ".");
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(body, ".", absl::Hex(hash & 0xffffffff)), &token);
  return token;
}

TEST_F(FollowsServiceTest, ForgedResumeTokensAreInvalidArgumentNamingTheField) {
  Start(absl::Milliseconds(20), {{42, 2100, 0}});
  std::vector<v1::FollowerPage> pages;
  ASSERT_TRUE(ReadAll(stub_.get(), FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS), &pages).ok());
  ASSERT_EQ(pages.size(), 3u);
  const int requests = linkedin_->Stats().requests;

  std::string text;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(pages[0].resume_token(), &text));
  // The same place, one page further on, under the old MAC.
  std::vector<std::string> parts = absl::StrSplit(text, '.');
  ASSERT_EQ(parts.size(), 8u);
  parts[4] = "2";
  std::string altered;
  absl::WebSafeBase64Escape(absl::StrJoin(parts, "."), &altered);

  struct Case {
    std::string token;
    std::string message;
  };
  for (const Case& forged : {Case{altered, "resume_token is not a token this service issued"},
                             Case{ForgedLegacyToken(pages[0].resume_token(),
                                                    "9223372036854775807"),
                                  "out of range"}}) {
    v1::StreamFollowersRequest resume = FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS);
    resume.set_resume_token(forged.token);
    const grpc::Status status = ReadAll(stub_.get(), resume);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(forged.message));
    const Details details = DetailsOf(status);
    ASSERT_EQ(details.bad_request.field_violations_size(), 1);
    EXPECT_EQ(details.bad_request.field_violations(0).field(), "resume_token");
  }
  // A forged fg1 token within the bounds is still honoured this release.
  v1::StreamFollowersRequest legacy = FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS);
  legacy.set_resume_token(ForgedLegacyToken(pages[0].resume_token(), "1"));
  std::vector<v1::FollowerPage> rest;
  ASSERT_TRUE(ReadAll(stub_.get(), legacy, &rest).ok());
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].sequence_number(), 1);
  EXPECT_EQ(linkedin_->Stats().requests, requests);
}

TEST_F(FollowsServiceTest, LeadingZerosNameTheSamePageAndShareOneSnapshot) {
  Start(absl::Milliseconds(20), {{777, 1500, 3}});
  v1::StreamFollowersRequest padded = FollowersOf(777, v1::FOLLOWER_FILTER_ALL);
  padded.set_followee("urn:li:organizationalPage:0777");
  std::vector<v1::FollowerPage> first;
  ASSERT_TRUE(ReadAll(stub_.get(), padded, &first).ok());
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(linkedin_->Stats().requests, 3);
  std::vector<v1::FollowerPage> second;
  ASSERT_TRUE(ReadAll(stub_.get(), FollowersOf(777, v1::FOLLOWER_FILTER_ALL), &second).ok());
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(linkedin_->Stats().requests, 3);  // Served from the same snapshot.
  // And a token of the one continues the other.
  v1::StreamFollowersRequest resume = FollowersOf(777, v1::FOLLOWER_FILTER_ALL);
  resume.set_resume_token(first[0].resume_token());
  std::vector<v1::FollowerPage> rest;
  ASSERT_TRUE(ReadAll(stub_.get(), resume, &rest).ok());
  EXPECT_EQ(rest.size(), 2u);

  v1::StreamFollowersRequest zero = FollowersOf(0, v1::FOLLOWER_FILTER_ALL);
  const grpc::Status status = ReadAll(stub_.get(), zero);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("{digits}: 1 to 2^63-1"));
  EXPECT_EQ(linkedin_->Stats().requests, 3);
}

TEST_F(FollowsServiceTest, MaxStalenessOutsideAip142IsInvalidArgumentNamingTheField) {
  Start(absl::Milliseconds(20), {{42, 10, 0}});
  v1::StreamFollowersRequest request = FollowersOf(42, v1::FOLLOWER_FILTER_ALL);
  request.mutable_max_staleness()->set_nanos(2'000'000'000);
  const grpc::Status status = ReadAll(stub_.get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("max_staleness is not a valid google.protobuf.Duration"));
  const Details details = DetailsOf(status);
  ASSERT_EQ(details.bad_request.field_violations_size(), 1);
  EXPECT_EQ(details.bad_request.field_violations(0).field(), "max_staleness");

  v1::ListFollowersRequest list;
  list.set_followee("urn:li:organizationalPage:42");
  list.mutable_max_staleness()->set_seconds(5);
  list.mutable_max_staleness()->set_nanos(-1);
  grpc::ClientContext context;
  v1::ListFollowersResponse response;
  const grpc::Status listed = stub_->ListFollowers(&context, list, &response);
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(listed.error_message(), HasSubstr("both of the same sign"));
  EXPECT_EQ(linkedin_->Stats().requests, 0);
}

TEST_F(FollowsServiceTest, ResumeTokensSurviveARestartOnTheSameStateDir) {
  state_dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/restart_state");
  Start(absl::Milliseconds(20), {{42, 2100, 0}});
  std::vector<v1::FollowerPage> pages;
  ASSERT_TRUE(ReadAll(stub_.get(), FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS), &pages).ok());
  ASSERT_EQ(pages.size(), 3u);
  server_->Shutdown();
  server_.reset();
  Start(absl::Milliseconds(20), {{42, 2100, 0}});
  v1::StreamFollowersRequest resume = FollowersOf(42, v1::FOLLOWER_FILTER_MEMBERS);
  resume.set_resume_token(pages[0].resume_token());
  std::vector<v1::FollowerPage> rest;
  const grpc::Status status = ReadAll(stub_.get(), resume, &rest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rest.size(), 2u);
  EXPECT_EQ(linkedin_->Stats().requests, 0);
}

}  // namespace
}  // namespace followgate
