// stream_client: load generator for FollowsService; prints one JSON object.
//
// Throughput (default): opens --streams concurrent StreamFollowers calls for
// --followee, each on a channel (and TCP connection) of its own, reads every
// page and prints edges, pages, wall seconds and edges/s over all streams.
// With --slow_reader_ms, stream number --slow_stream sleeps that long after
// each page it reads (a slow consumer, for the memory test). With
// --page_times=FILE (one stream), FILE gets a line per page as it arrives:
// its sequence_number, the CLOCK_MONOTONIC time in ns (comparable across
// processes on one machine) and the CLOCK_REALTIME time in ns (comparable
// with a database's commit timestamps on the same machine), flushed at once.
//
// Latency (--unary_latency=N): N sequential calls on one channel, after
// --warmup calls that are not counted. --method=stream: open a stream, read
// its first page, cancel it (the time to the first page is measured);
// --method=list: one ListFollowers call with --page_size. Prints p50/p90/p99
// in microseconds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/follows.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "HOST:PORT of the server.");
ABSL_FLAG(std::string, followee, "urn:li:organizationalPage:77", "The page to read.");
ABSL_FLAG(std::string, edge_type, "members", "members | pages | all");
ABSL_FLAG(int, streams, 1, "Concurrent streams (throughput mode).");
ABSL_FLAG(bool, shared_channel, false,
          "Throughput mode: all streams on one channel (one HTTP/2 connection) "
          "instead of one channel each.");
ABSL_FLAG(int, slow_reader_ms, 0,
          "Throughput mode: stream --slow_stream sleeps this long after each page.");
ABSL_FLAG(int, slow_stream, 0, "Which stream reads slowly (0-based).");
ABSL_FLAG(int, unary_latency, 0,
          "If > 0: latency mode, N sequential calls of --method instead of streaming.");
ABSL_FLAG(std::string, method, "stream",
          "Latency mode: stream (open, read first page, cancel) | list (ListFollowers).");
ABSL_FLAG(int, page_size, 1000, "Latency mode, --method=list: page_size.");
ABSL_FLAG(int, warmup, 20, "Latency mode: uncounted calls first.");
ABSL_FLAG(bool, latency_bdp_probe, false,
          "Latency mode: let HTTP/2 BDP probing grow the flow-control windows. Off by "
          "default: with growing windows a server pushes megabytes of the cancelled "
          "stream's later pages onto the connection, and the next call's first page "
          "queues behind them, so the figure would measure the previous call.");
ABSL_FLAG(bool, verify, false,
          "Throughput mode: also print a digest of every edge read (FNV-1a over the "
          "serialized edges), to compare what two servers send.");
ABSL_FLAG(std::string, page_times, "",
          "Throughput mode with --streams=1: write one line per page as it arrives, "
          "\"SEQUENCE_NUMBER MONOTONIC_NS REALTIME_NS\" (CLOCK_MONOTONIC, comparable "
          "across processes; CLOCK_REALTIME, comparable with a database's commit "
          "timestamps), flushed at once, so that another process can follow it.");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(10), "Deadline of each call.");
ABSL_FLAG(std::string, label, "", "Copied into the JSON output.");

namespace {

using followgate::v1::FollowerPage;
using followgate::v1::FollowsService;
using Clock = std::chrono::steady_clock;

followgate::v1::FollowerFilter FilterOf(const std::string& name) {
  if (name == "members") return followgate::v1::FOLLOWER_FILTER_MEMBERS;
  if (name == "pages") return followgate::v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES;
  if (name == "all") return followgate::v1::FOLLOWER_FILTER_ALL;
  std::fprintf(stderr, "stream_client: --edge_type must be members, pages or all\n");
  std::exit(2);
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, bool own_connection,
                                          bool bdp_probe = true) {
  grpc::ChannelArguments args;
  if (!bdp_probe) args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetMaxReceiveMessageSize(-1);
  // Without this, channels with equal arguments share one subchannel (one
  // TCP connection); 200 "clients" should be 200 connections.
  if (own_connection) args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void WaitConnected(const std::shared_ptr<grpc::Channel>& channel) {
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    std::fprintf(stderr, "stream_client: cannot connect to %s\n",
                 absl::GetFlag(FLAGS_server).c_str());
    std::exit(1);
  }
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A clock_gettime clock in ns: CLOCK_MONOTONIC is the same clock in every
// process of the machine, CLOCK_REALTIME the one PostgreSQL stamps commits by.
int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct StreamResult {
  int64_t edges = 0;
  int64_t pages = 0;
  int64_t heartbeats = 0;
  bool saw_last_page = false;
  grpc::Status status;
  Clock::time_point finished;
  uint64_t digest = 14695981039346656037ull;
};

void Fnv(uint64_t* h, const std::string& bytes) {
  for (unsigned char c : bytes) {
    *h ^= c;
    *h *= 1099511628211ull;
  }
}

int RunThroughput() {
  const int streams = std::max(1, absl::GetFlag(FLAGS_streams));
  const int slow_ms = absl::GetFlag(FLAGS_slow_reader_ms);
  const int slow_stream = absl::GetFlag(FLAGS_slow_stream);
  const bool verify = absl::GetFlag(FLAGS_verify);
  const std::string target = absl::GetFlag(FLAGS_server);
  const bool shared = absl::GetFlag(FLAGS_shared_channel);
  const std::string page_times_path = absl::GetFlag(FLAGS_page_times);
  FILE* page_times = nullptr;
  if (!page_times_path.empty()) {
    if (streams != 1) {
      std::fprintf(stderr, "stream_client: --page_times needs --streams=1\n");
      return 2;
    }
    page_times = std::fopen(page_times_path.c_str(), "w");
    if (page_times == nullptr) {
      std::fprintf(stderr, "stream_client: --page_times: cannot write %s\n",
                   page_times_path.c_str());
      return 2;
    }
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < (shared ? 1 : streams); ++i) {
    channels.push_back(NewChannel(target, !shared));
    WaitConnected(channels.back());
  }
  followgate::v1::StreamFollowersRequest request;
  request.set_followee(absl::GetFlag(FLAGS_followee));
  request.set_follower_filter(FilterOf(absl::GetFlag(FLAGS_edge_type)));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);

  std::vector<StreamResult> results(streams);
  absl::Barrier* barrier = new absl::Barrier(streams + 1);
  std::vector<std::thread> threads;
  threads.reserve(streams);
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] {
      auto stub = FollowsService::NewStub(channels[shared ? 0 : i]);
      StreamResult& r = results[i];
      const bool slow = slow_ms > 0 && i == slow_stream;
      if (barrier->Block()) delete barrier;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
      auto reader = stub->StreamFollowers(&context, request);
      FollowerPage page;
      while (reader->Read(&page)) {
        if (page.has_heartbeat()) {
          ++r.heartbeats;
          continue;
        }
        if (page_times != nullptr) {
          const int64_t monotonic = ClockNs(CLOCK_MONOTONIC);
          const int64_t realtime = ClockNs(CLOCK_REALTIME);
          std::fprintf(page_times, "%lld %lld %lld\n",
                       static_cast<long long>(page.sequence_number()),
                       static_cast<long long>(monotonic), static_cast<long long>(realtime));
          std::fflush(page_times);
        }
        ++r.pages;
        r.edges += page.edges_size();
        if (page.last_page()) r.saw_last_page = true;
        if (verify) {
          for (const auto& edge : page.edges()) Fnv(&r.digest, edge.SerializeAsString());
        }
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
      }
      r.status = reader->Finish();
      r.finished = Clock::now();
    });
  }
  const Clock::time_point start = Clock::now();
  if (barrier->Block()) delete barrier;
  for (auto& t : threads) t.join();
  if (page_times != nullptr) std::fclose(page_times);

  int64_t edges = 0, pages = 0, fast_edges = 0, heartbeats = 0;
  int ok = 0;
  Clock::time_point last = start, last_fast = start, first = Clock::time_point::max();
  std::string errors;
  for (int i = 0; i < streams; ++i) {
    const StreamResult& r = results[i];
    edges += r.edges;
    pages += r.pages;
    heartbeats += r.heartbeats;
    last = std::max(last, r.finished);
    first = std::min(first, r.finished);
    const bool slow = slow_ms > 0 && i == slow_stream;
    if (!slow) {
      fast_edges += r.edges;
      last_fast = std::max(last_fast, r.finished);
    }
    if (r.status.ok() && r.saw_last_page) {
      ++ok;
    } else if (errors.size() < 2000) {
      absl::StrAppend(&errors, errors.empty() ? "" : "; ", "stream ", i, ": code ",
                      r.status.error_code(), " ", r.status.error_message(),
                      r.saw_last_page ? "" : " (no last_page)");
    }
  }
  const double seconds = Seconds(last - start);
  std::string json = absl::StrCat(
      "{\"label\":", JsonString(absl::GetFlag(FLAGS_label)), ",\"server\":", JsonString(target),
      ",\"followee\":", JsonString(request.followee()), ",\"streams\":", streams,
      ",\"ok_streams\":", ok, ",\"edges\":", edges, ",\"pages\":", pages,
      ",\"heartbeats\":", heartbeats, ",\"seconds\":", absl::StrFormat("%.4f", seconds),
      ",\"edges_per_s\":", absl::StrFormat("%.0f", seconds > 0 ? edges / seconds : 0.0),
      ",\"first_stream_done_s\":", absl::StrFormat("%.4f", Seconds(first - start)));
  if (slow_ms > 0) {
    const double fast_seconds = Seconds(last_fast - start);
    absl::StrAppend(&json, ",\"slow_reader_ms\":", slow_ms, ",\"slow_stream_s\":",
                    absl::StrFormat("%.4f", Seconds(results[slow_stream].finished - start)),
                    ",\"other_streams_s\":", absl::StrFormat("%.4f", fast_seconds),
                    ",\"other_streams_edges_per_s\":",
                    absl::StrFormat("%.0f", fast_seconds > 0 ? fast_edges / fast_seconds : 0.0));
  }
  if (verify) {
    absl::StrAppend(&json, ",\"edges_digest\":\"", absl::StrFormat("%016x", results[0].digest),
                    "\"");
  }
  if (!errors.empty()) absl::StrAppend(&json, ",\"errors\":", JsonString(errors));
  absl::StrAppend(&json, "}");
  std::printf("%s\n", json.c_str());
  return ok == streams ? 0 : 1;
}

int RunLatency() {
  const int calls = absl::GetFlag(FLAGS_unary_latency);
  const std::string method = absl::GetFlag(FLAGS_method);
  if (method != "stream" && method != "list") {
    std::fprintf(stderr, "stream_client: --method must be stream or list\n");
    return 2;
  }
  const std::string target = absl::GetFlag(FLAGS_server);
  auto channel = NewChannel(target, false, absl::GetFlag(FLAGS_latency_bdp_probe));
  WaitConnected(channel);
  auto stub = FollowsService::NewStub(channel);
  const auto filter = FilterOf(absl::GetFlag(FLAGS_edge_type));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);

  std::string error;
  int64_t edges_seen = 0;
  // One call; returns its duration, or a negative value on failure.
  auto one_call = [&]() -> double {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (method == "list") {
      followgate::v1::ListFollowersRequest request;
      request.set_followee(absl::GetFlag(FLAGS_followee));
      request.set_follower_filter(filter);
      request.set_page_size(absl::GetFlag(FLAGS_page_size));
      followgate::v1::ListFollowersResponse response;
      const Clock::time_point t0 = Clock::now();
      grpc::Status status = stub->ListFollowers(&context, request, &response);
      const Clock::time_point t1 = Clock::now();
      if (!status.ok()) {
        error = absl::StrCat("code ", status.error_code(), " ", status.error_message());
        return -1;
      }
      edges_seen = response.edges_size();
      return Seconds(t1 - t0) * 1e6;
    }
    followgate::v1::StreamFollowersRequest request;
    request.set_followee(absl::GetFlag(FLAGS_followee));
    request.set_follower_filter(filter);
    FollowerPage page;
    const Clock::time_point t0 = Clock::now();
    auto reader = stub->StreamFollowers(&context, request);
    bool got = false;
    while (reader->Read(&page)) {
      if (!page.has_heartbeat()) {
        got = true;
        break;
      }
    }
    const Clock::time_point t1 = Clock::now();
    context.TryCancel();
    grpc::Status status = reader->Finish();
    if (!got) {
      error = absl::StrCat("no first page: code ", status.error_code(), " ",
                           status.error_message());
      return -1;
    }
    edges_seen = page.edges_size();
    return Seconds(t1 - t0) * 1e6;
  };

  for (int i = 0; i < absl::GetFlag(FLAGS_warmup); ++i) {
    if (one_call() < 0) {
      std::printf("{\"label\":%s,\"method\":%s,\"error\":%s}\n",
                  JsonString(absl::GetFlag(FLAGS_label)).c_str(), JsonString(method).c_str(),
                  JsonString(error).c_str());
      return 1;
    }
  }
  std::vector<double> us;
  us.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    const double t = one_call();
    if (t < 0) {
      std::printf("{\"label\":%s,\"method\":%s,\"error\":%s}\n",
                  JsonString(absl::GetFlag(FLAGS_label)).c_str(), JsonString(method).c_str(),
                  JsonString(error).c_str());
      return 1;
    }
    us.push_back(t);
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    const size_t rank = static_cast<size_t>(std::ceil(p * us.size()));
    return us[std::min(us.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  double sum = 0;
  for (double t : us) sum += t;
  std::printf(
      "{\"label\":%s,\"server\":%s,\"method\":%s,\"calls\":%d,\"edges_per_call\":%lld,"
      "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"mean_us\":%.0f,\"min_us\":%.0f,"
      "\"max_us\":%.0f}\n",
      JsonString(absl::GetFlag(FLAGS_label)).c_str(), JsonString(target).c_str(),
      JsonString(method).c_str(), calls, static_cast<long long>(edges_seen), pct(0.50),
      pct(0.90), pct(0.99), sum / us.size(), us.front(), us.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return absl::GetFlag(FLAGS_unary_latency) > 0 ? RunLatency() : RunThroughput();
}
