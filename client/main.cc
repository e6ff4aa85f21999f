// followgate: the command-line client of the followgate server.
//
//   followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all]
//              [--format=jsonl|csv]
//   followgate --server=HOST:PORT following URN [--format=jsonl|csv]
//
// Edges go to stdout, one per line; progress (when stderr is a terminal) and
// a summary go to stderr. Exit 0 on success, 1 when the server answers an
// error (its code name and message on stderr), 2 on bad usage.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/edge_format.h"
#include "client/progress.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "followgate server, HOST:PORT.");
ABSL_FLAG(std::string, edge_type, "all",
          "followers: which followers, members|pages|all.");
ABSL_FLAG(std::string, format, "jsonl", "Output format: jsonl|csv.");
ABSL_FLAG(absl::Duration, timeout, absl::InfiniteDuration(),
          "Deadline for the whole stream (e.g. 30m); none by default.");

namespace followgate::cli {
namespace {

constexpr char kUsage[] =
    "followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all] "
    "[--format=jsonl|csv]\n"
    "followgate --server=HOST:PORT following URN [--format=jsonl|csv]";

int UsageError(absl::string_view message) {
  absl::FPrintF(stderr, "followgate: %s\nusage:\n%s\n", message, kUsage);
  return 2;
}

absl::StatusOr<v1::FollowerFilter> ParseEdgeType(absl::string_view name) {
  if (name == "members") return v1::FOLLOWER_FILTER_MEMBERS;
  if (name == "pages") return v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES;
  if (name == "all") return v1::FOLLOWER_FILTER_ALL;
  return absl::InvalidArgumentError(
      absl::StrCat("--edge_type must be members, pages or all, got \"", name, "\""));
}

// Reads a stream of pages to its end, printing every edge.
template <typename Page>
int PrintStream(grpc::ClientReader<Page>* reader, EdgeFormat format) {
  Progress progress(stderr, isatty(STDERR_FILENO) != 0, absl::Now());
  std::string out = FormatHeader(format);
  Page page;
  while (reader->Read(&page)) {
    for (const v1::FollowEdge& edge : page.edges()) AppendEdge(format, edge, &out);
    // Whole pages reach the file or pipe at once: pages come minutes apart,
    // and an interrupted run keeps every complete line it received.
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    out.clear();
    progress.OnPage(page.edges_size(),
                    absl::Seconds(page.upstream_wait().seconds()) +
                        absl::Nanoseconds(page.upstream_wait().nanos()),
                    absl::Now());
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  const grpc::Status status = reader->Finish();
  progress.Finish(absl::Now());
  if (!status.ok()) {
    absl::FPrintF(stderr, "followgate: %s: %s\n",
                  absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                  status.error_message());
    return 1;
  }
  return 0;
}

int Run(const std::vector<char*>& args) {
  if (args.size() != 3) return UsageError("expected a command and one URN");
  const std::string command = args[1];
  const std::string urn = args[2];
  auto format = ParseEdgeFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return UsageError(format.status().message());

  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::FollowsService::NewStub(channel);
  grpc::ClientContext context;
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }

  if (command == "followers") {
    auto filter = ParseEdgeType(absl::GetFlag(FLAGS_edge_type));
    if (!filter.ok()) return UsageError(filter.status().message());
    v1::StreamFollowersRequest request;
    request.set_followee(urn);
    request.set_follower_filter(*filter);
    auto reader = stub->StreamFollowers(&context, request);
    return PrintStream(reader.get(), *format);
  }
  if (command == "following") {
    v1::StreamFollowingRequest request;
    request.set_follower(urn);
    auto reader = stub->StreamFollowing(&context, request);
    return PrintStream(reader.get(), *format);
  }
  return UsageError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace followgate::cli

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(followgate::cli::kUsage);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "client/main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  return followgate::cli::Run(args);
}
