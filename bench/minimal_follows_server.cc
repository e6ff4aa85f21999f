// minimal_follows_server: the baseline for followgate's serving path.
//
// A gRPC server that implements only FollowsService.StreamFollowers and
// ListFollowers with the callback API and nothing else: no snapshots, no
// SQLite, no producer thread. At startup it reads the followers of one page
// ONCE from a running followgate server (--source) and keeps every
// FollowerPage in memory, exactly as received; every StreamFollowers call
// then writes those same messages, one write in flight, straight from memory.
// ListFollowers answers a fixed response: the one followgate gave for
// page_size --list_page_size at startup. Both servers therefore put the same
// pages on the wire, and the difference in speed is followgate's own cost.
//
//   minimal_follows_server --source=127.0.0.1:50051
//       --followee=urn:li:organizationalPage:77 --port=0 --port_file=/tmp/p
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/follows.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0, "gRPC port; 0 picks a free one.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written here (atomically) once serving.");
ABSL_FLAG(std::string, source, "",
          "HOST:PORT of a running followgate server to read the pages from (once).");
ABSL_FLAG(std::string, followee, "urn:li:organizationalPage:77",
          "The page whose followers are read from --source and served.");
ABSL_FLAG(std::string, edge_type, "members", "members | pages | all");
ABSL_FLAG(int, list_page_size, 1000,
          "page_size of the ListFollowers call whose answer is kept and served.");
ABSL_FLAG(absl::Duration, source_timeout, absl::Minutes(10),
          "Deadline of the calls to --source.");

namespace {

using followgate::v1::FollowerPage;
using followgate::v1::FollowsService;
using followgate::v1::ListFollowersRequest;
using followgate::v1::ListFollowersResponse;
using followgate::v1::StreamFollowersRequest;

followgate::v1::FollowerFilter FilterOf(const std::string& name) {
  if (name == "members") return followgate::v1::FOLLOWER_FILTER_MEMBERS;
  if (name == "pages") return followgate::v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES;
  if (name == "all") return followgate::v1::FOLLOWER_FILTER_ALL;
  std::fprintf(stderr, "minimal_follows_server: --edge_type must be members, pages or all\n");
  std::exit(2);
}

// Writes the held pages one after the other, one write in flight.
class PagesReactor final : public grpc::ServerWriteReactor<FollowerPage> {
 public:
  explicit PagesReactor(const std::vector<FollowerPage>* pages) : pages_(pages) { Next(); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ < pages_->size()) {
      StartWrite(&(*pages_)[next_++]);
    } else {
      Finish(grpc::Status::OK);
    }
  }

  const std::vector<FollowerPage>* const pages_;
  size_t next_ = 0;
};

class MinimalFollowsService final : public FollowsService::CallbackService {
 public:
  MinimalFollowsService(std::string followee, std::vector<FollowerPage> pages,
                        ListFollowersResponse list_response)
      : followee_(std::move(followee)),
        pages_(std::move(pages)),
        list_response_(std::move(list_response)) {}

  grpc::ServerWriteReactor<FollowerPage>* StreamFollowers(
      grpc::CallbackServerContext* /*context*/, const StreamFollowersRequest* request) override {
    if (request->followee() != followee_) {
      auto* reactor = new FailedReactor();
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   "the minimal server holds only " + followee_));
      return reactor;
    }
    return new PagesReactor(&pages_);
  }

  grpc::ServerUnaryReactor* ListFollowers(grpc::CallbackServerContext* context,
                                          const ListFollowersRequest* request,
                                          ListFollowersResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->followee() != followee_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   "the minimal server holds only " + followee_));
      return reactor;
    }
    *response = list_response_;
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  class FailedReactor final : public grpc::ServerWriteReactor<FollowerPage> {
   public:
    void OnDone() override { delete this; }
  };

  const std::string followee_;
  const std::vector<FollowerPage> pages_;
  const ListFollowersResponse list_response_;
};

bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string source = absl::GetFlag(FLAGS_source);
  const std::string followee = absl::GetFlag(FLAGS_followee);
  if (source.empty()) {
    std::fprintf(stderr, "minimal_follows_server: --source=HOST:PORT is required\n");
    return 2;
  }

  // Read every page once from followgate.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(source, grpc::InsecureChannelCredentials(), args);
  auto stub = FollowsService::NewStub(channel);
  const absl::Duration timeout = absl::GetFlag(FLAGS_source_timeout);

  std::vector<FollowerPage> pages;
  int64_t edges = 0;
  const absl::Time started = absl::Now();
  {
    StreamFollowersRequest request;
    request.set_followee(followee);
    request.set_follower_filter(FilterOf(absl::GetFlag(FLAGS_edge_type)));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    std::unique_ptr<grpc::ClientReader<FollowerPage>> reader =
        stub->StreamFollowers(&context, request);
    FollowerPage page;
    while (reader->Read(&page)) {
      if (page.has_heartbeat()) continue;
      edges += page.edges_size();
      pages.push_back(std::move(page));
      page.Clear();
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) {
      std::fprintf(stderr, "minimal_follows_server: reading %s from %s failed: %d %s\n",
                   followee.c_str(), source.c_str(), status.error_code(),
                   status.error_message().c_str());
      return 1;
    }
  }
  ListFollowersResponse list_response;
  {
    ListFollowersRequest request;
    request.set_followee(followee);
    request.set_follower_filter(FilterOf(absl::GetFlag(FLAGS_edge_type)));
    request.set_page_size(absl::GetFlag(FLAGS_list_page_size));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    grpc::Status status = stub->ListFollowers(&context, request, &list_response);
    if (!status.ok()) {
      std::fprintf(stderr, "minimal_follows_server: ListFollowers on %s failed: %d %s\n",
                   source.c_str(), status.error_code(), status.error_message().c_str());
      return 1;
    }
  }
  size_t bytes = 0;
  for (const FollowerPage& page : pages) bytes += page.ByteSizeLong();
  std::fprintf(stderr,
               "minimal_follows_server: holds %zu pages, %lld edges, %zu bytes of %s "
               "(read from %s in %s); ListFollowers answer %d edges\n",
               pages.size(), static_cast<long long>(edges), bytes, followee.c_str(),
               source.c_str(), absl::FormatDuration(absl::Now() - started).c_str(),
               list_response.edges_size());

  MinimalFollowsService service(followee, std::move(pages), std::move(list_response));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port)),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "minimal_follows_server: cannot listen\n");
    return 2;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    std::fprintf(stderr, "minimal_follows_server: cannot write %s\n", port_file.c_str());
    return 2;
  }
  std::fprintf(stderr, "minimal_follows_server: serving on %s:%d\n",
               absl::GetFlag(FLAGS_host).c_str(), port);
  server->Wait();  // Until killed.
  return 0;
}
