// many_streams_client: holds many StreamFollowers calls open at once from a
// few threads, to measure what open streams cost the server.
//
// Opens --streams calls of --followee with gRPC's CompletionQueue API: one
// completion queue per --threads, each drained by one thread, and the calls
// spread round-robin over ceil(streams / --streams_per_connection) channels,
// each with a TCP connection of its own. Every call is a small state machine
// advanced only by its queue's thread (start, read, optional pause, finish),
// so thousands of calls cost the client a few threads and no lock of their
// own (a shared counter tells the main thread how far they are).
//
// Prints `READY {...}` on stdout once every call has started and received its
// first message (a page or a heartbeat), then, when every call has ended, one
// JSON object (fields in bench/README.md). Two uses:
//
//   Waiting streams: calls of a page whose crawl waits for LinkedIn's budget
//   receive heartbeats only. With --hold_until_stdin_closes they stay open
//   until stdin reaches end of file (after READY, or before it when some call
//   never gets a first message), then are cancelled (a cancelled call counts
//   as ok); without it, each runs to its end.
//
//   Slow readers: --read_interval_ms=X asks for the next message X ms after a
//   page arrived (heartbeats are read at once); --max_pages=K cancels a call
//   after its K-th page. Completion times are reported.
//
// Exit status 0 when every call ended ok: OK after a `last_page`, or
// cancelled by this client (hold or --max_pages); 1 otherwise; 2 on bad usage.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/follows.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "HOST:PORT of the server.");
ABSL_FLAG(std::string, followee, "urn:li:organizationalPage:77", "The page to read.");
ABSL_FLAG(std::string, edge_type, "members", "members | pages | all");
ABSL_FLAG(int, streams, 1000, "Calls held open at once.");
ABSL_FLAG(int, streams_per_connection, 100,
          "Calls per channel; each channel has a TCP connection of its own.");
ABSL_FLAG(int, threads, 2, "Completion queues, each drained by one thread.");
ABSL_FLAG(bool, hold_until_stdin_closes, false,
          "After READY, keep the calls open until stdin reaches end of file, then "
          "cancel those still open.");
ABSL_FLAG(int, read_interval_ms, 0,
          "Ask for the next message this long after each page (0: at once).");
ABSL_FLAG(int, max_pages, 0, "Cancel a call after this many pages (0: read to the end).");
ABSL_FLAG(bool, verify, false,
          "Also check each call's edges: distinct follower URNs, sequence numbers "
          "0, 1, 2, ... and a digest of every edge, compared across calls.");
ABSL_FLAG(absl::Duration, timeout, absl::InfiniteDuration(),
          "Deadline of each call (none by default: a call whose deadline falls before "
          "its budget slot would end at once with RESOURCE_EXHAUSTED).");
ABSL_FLAG(std::string, label, "", "Copied into the JSON output.");

namespace {

using followgate::v1::FollowerPage;
using followgate::v1::FollowsService;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

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

bool FilterOf(const std::string& name, followgate::v1::FollowerFilter* filter) {
  if (name == "members") {
    *filter = followgate::v1::FOLLOWER_FILTER_MEMBERS;
  } else if (name == "pages") {
    *filter = followgate::v1::FOLLOWER_FILTER_ORGANIZATIONAL_PAGES;
  } else if (name == "all") {
    *filter = followgate::v1::FOLLOWER_FILTER_ALL;
  } else {
    return false;
  }
  return true;
}

// One channel per connection: channels with equal arguments would share a
// subchannel (one TCP connection), so each gets a local subchannel pool and
// an argument of its own. BDP probing stays off so that a slow reader's
// flow-control window stays at its initial size instead of growing to
// megabytes of pages buffered in this client.
std::shared_ptr<grpc::Channel> NewConnection(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  args.SetInt("followgate.bench.connection", index);
  args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void Fnv(uint64_t* h, const std::string& bytes) {
  for (unsigned char c : bytes) {
    *h ^= c;
    *h *= 1099511628211ull;
  }
}

// Counts shared by every call; the main thread waits on them. Thread-safe.
class Progress {
 public:
  explicit Progress(int streams) : streams_(streams) {}

  void FirstMessage() {
    absl::MutexLock lock(&mu_);
    if (++ready_ == streams_) all_ready_at_ = Clock::now();
  }
  // `had_first_message`: whether the call had counted in FirstMessage().
  void Ended(bool had_first_message) {
    absl::MutexLock lock(&mu_);
    ++ended_;
    if (!had_first_message) ++ended_without_first_message_;
  }
  // From now on the calls are to be cancelled (stdin closed).
  void RequestStop() {
    absl::MutexLock lock(&mu_);
    stop_requested_ = true;
    stop_at_ = Clock::now();
  }
  // Waits until every call has had its first message or ended without one,
  // or a stop is requested; returns whether all had their first message.
  bool WaitUntilSettledOrStopped() {
    absl::MutexLock lock(&mu_);
    auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ready_ + ended_without_first_message_ == streams_ || stop_requested_;
    };
    mu_.Await(absl::Condition(&settled));
    return ready_ == streams_;
  }
  void WaitUntilAllEnded() {
    absl::MutexLock lock(&mu_);
    auto all_ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_ == streams_; };
    mu_.Await(absl::Condition(&all_ended));
  }
  // When the last call had its first message (meaningful once all had).
  Clock::time_point all_ready_at() {
    absl::MutexLock lock(&mu_);
    return all_ready_at_;
  }
  // When RequestStop() was called; the epoch if it was not.
  Clock::time_point stop_at() {
    absl::MutexLock lock(&mu_);
    return stop_at_;
  }

 private:
  const int streams_;
  absl::Mutex mu_;
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_without_first_message_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point all_ready_at_ ABSL_GUARDED_BY(mu_);
  Clock::time_point stop_at_ ABSL_GUARDED_BY(mu_);
};

struct CallOptions {
  int read_interval_ms = 0;
  int max_pages = 0;
  bool verify = false;
};

// What became of one call. Written only by its queue's thread; read by the
// main thread after every call ended.
struct CallResult {
  int64_t pages = 0;
  int64_t edges = 0;
  int64_t heartbeats = 0;
  int64_t distinct_followers = 0;
  int64_t sequence_errors = 0;
  uint64_t digest = 14695981039346656037ull;
  bool saw_last_page = false;
  bool stopped_by_client = false;
  grpc::Status status;
  Clock::time_point first_message;
  Clock::time_point ended;
};

// One StreamFollowers call. After Start(), only its completion queue's thread
// touches it, except Stop(), which may be called from any thread.
class Call {
 public:
  Call(Progress* progress, const CallOptions& options, grpc::CompletionQueue* cq)
      : progress_(progress), options_(options), cq_(cq) {}

  void Start(FollowsService::Stub* stub, const followgate::v1::StreamFollowersRequest& request,
             absl::Duration timeout) {
    if (timeout != absl::InfiniteDuration()) {
      context_.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    reader_ = stub->PrepareAsyncStreamFollowers(&context_, request, cq_);
    reader_->StartCall(&start_tag_);
  }

  // Cancels the call; it then ends CANCELLED, counted as stopped by the client.
  void Stop() {
    stop_requested_.store(true);
    context_.TryCancel();
  }

  // The operations a call has in flight, one at a time.
  enum class Op { kStart, kRead, kPause, kFinish };

  // A completion-queue tag: the call and which of its operations completed.
  struct Tag {
    Call* call;
    Op op;
  };

  // Advances the call after one of its operations completed.
  void OnEvent(Op op, bool ok) {
    switch (op) {
      case Op::kStart:
        if (ok) {
          Read();
        } else {
          Finish();
        }
        break;
      case Op::kRead:
        if (ok) {
          OnMessage();
        } else {
          Finish();
        }
        break;
      case Op::kPause:
        Read();
        break;
      case Op::kFinish:
        OnFinished();
        break;
    }
  }

  const CallResult& result() const { return result_; }

 private:
  void Read() { reader_->Read(&message_, &read_tag_); }
  void Finish() { reader_->Finish(&result_.status, &finish_tag_); }

  void OnMessage() {
    if (!had_first_message_) {
      had_first_message_ = true;
      result_.first_message = Clock::now();
      progress_->FirstMessage();
    }
    if (message_.has_heartbeat()) {
      ++result_.heartbeats;
      Read();
      return;
    }
    if (message_.sequence_number() != result_.pages) ++result_.sequence_errors;
    ++result_.pages;
    result_.edges += message_.edges_size();
    if (message_.last_page()) result_.saw_last_page = true;
    if (options_.verify) {
      for (const auto& edge : message_.edges()) {
        Fnv(&result_.digest, edge.SerializeAsString());
        followers_.insert(edge.follower().urn());
      }
    }
    const bool last_page = message_.last_page();
    // Frees the page (Clear() would keep its edges allocated): thousands of
    // calls must not each hold a page while they wait.
    FollowerPage().Swap(&message_);
    if (options_.max_pages > 0 && result_.pages >= options_.max_pages && !last_page) {
      Stop();
      Read();  // Fails at once: the call is cancelled.
      return;
    }
    if (options_.read_interval_ms > 0 && !last_page) {
      pause_.Set(
          cq_,
          std::chrono::system_clock::now() + std::chrono::milliseconds(options_.read_interval_ms),
          &pause_tag_);
      return;
    }
    Read();
  }

  void OnFinished() {
    result_.ended = Clock::now();
    result_.stopped_by_client =
        stop_requested_.load() && result_.status.error_code() == grpc::StatusCode::CANCELLED;
    result_.distinct_followers = static_cast<int64_t>(followers_.size());
    followers_ = {};
    progress_->Ended(had_first_message_);
  }

  Progress* const progress_;
  const CallOptions options_;
  grpc::CompletionQueue* const cq_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncReader<FollowerPage>> reader_;
  FollowerPage message_;
  grpc::Alarm pause_;
  std::atomic<bool> stop_requested_{false};
  bool had_first_message_ = false;
  absl::flat_hash_set<std::string> followers_;
  CallResult result_;
  Tag start_tag_{this, Op::kStart};
  Tag read_tag_{this, Op::kRead};
  Tag pause_tag_{this, Op::kPause};
  Tag finish_tag_{this, Op::kFinish};
};

void DrainQueue(grpc::CompletionQueue* cq) {
  void* tag;
  bool ok;
  while (cq->Next(&tag, &ok)) {
    auto* t = static_cast<Call::Tag*>(tag);
    t->call->OnEvent(t->op, ok);
  }
}

// Blocks until stdin reaches end of file (or fails).
void WaitForStdinToClose() {
  char buffer[256];
  while (true) {
    const ssize_t n = read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

// The value at fraction `p` of sorted `values` (nearest rank).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::string Summary(const std::vector<std::unique_ptr<Call>>& calls, int connections,
                    Clock::time_point start, Clock::time_point all_ready, Clock::time_point stop_at,
                    const CallOptions& options, const std::string& followee) {
  const int streams = static_cast<int>(calls.size());
  int complete = 0, stopped = 0, failed = 0, with_heartbeat = 0, digest_mismatches = 0;
  int with_first_message = 0, open_at_stop = 0;
  int64_t pages = 0, edges = 0, heartbeats = 0, sequence_errors = 0;
  int64_t min_edges = INT64_MAX, max_edges = 0, min_distinct = INT64_MAX, max_distinct = 0;
  int64_t min_pages = INT64_MAX, max_pages = 0;
  const uint64_t* reference_digest = nullptr;
  std::vector<double> end_s;
  std::string errors;
  for (int i = 0; i < streams; ++i) {
    const CallResult& r = calls[i]->result();
    pages += r.pages;
    edges += r.edges;
    heartbeats += r.heartbeats;
    sequence_errors += r.sequence_errors;
    if (r.heartbeats > 0) ++with_heartbeat;
    if (r.first_message != Clock::time_point()) {
      ++with_first_message;
      if (stop_at != Clock::time_point() && r.first_message < stop_at && r.ended >= stop_at) {
        ++open_at_stop;
      }
    }
    min_edges = std::min(min_edges, r.edges);
    max_edges = std::max(max_edges, r.edges);
    min_pages = std::min(min_pages, r.pages);
    max_pages = std::max(max_pages, r.pages);
    min_distinct = std::min(min_distinct, r.distinct_followers);
    max_distinct = std::max(max_distinct, r.distinct_followers);
    end_s.push_back(Seconds(r.ended - start));
    if (r.status.ok() && r.saw_last_page) {
      ++complete;
      if (reference_digest == nullptr) {
        reference_digest = &r.digest;
      } else if (r.digest != *reference_digest) {
        ++digest_mismatches;
      }
    } else if (r.stopped_by_client) {
      ++stopped;
    } else {
      ++failed;
      if (errors.size() < 2000) {
        absl::StrAppend(&errors, errors.empty() ? "" : "; ", "stream ", i, ": code ",
                        r.status.error_code(), " ", r.status.error_message(),
                        r.saw_last_page ? "" : " (no last_page)");
      }
    }
  }
  std::sort(end_s.begin(), end_s.end());
  std::string json = absl::StrCat(
      "{\"label\":", JsonString(absl::GetFlag(FLAGS_label)), ",\"followee\":", JsonString(followee),
      ",\"streams\":", streams, ",\"connections\":", connections,
      ",\"threads\":", absl::GetFlag(FLAGS_threads), ",\"ok_streams\":", complete + stopped,
      ",\"complete_streams\":", complete, ",\"stopped_streams\":", stopped,
      ",\"failed_streams\":", failed, ",\"pages\":", pages, ",\"edges\":", edges,
      ",\"heartbeats\":", heartbeats, ",\"streams_with_heartbeat\":", with_heartbeat,
      ",\"streams_with_first_message\":", with_first_message,
      ",\"pages_per_stream_min\":", min_pages, ",\"pages_per_stream_max\":", max_pages,
      ",\"edges_per_stream_min\":", min_edges, ",\"edges_per_stream_max\":", max_edges,
      ",\"sequence_errors\":", sequence_errors);
  if (all_ready != Clock::time_point()) {
    absl::StrAppend(&json, ",\"ready_s\":", absl::StrFormat("%.3f", Seconds(all_ready - start)));
  }
  absl::StrAppend(&json, ",\"end_s_min\":", absl::StrFormat("%.3f", Percentile(end_s, 0)),
                  ",\"end_s_p50\":", absl::StrFormat("%.3f", Percentile(end_s, 0.5)),
                  ",\"end_s_p90\":", absl::StrFormat("%.3f", Percentile(end_s, 0.9)),
                  ",\"end_s_max\":", absl::StrFormat("%.3f", Percentile(end_s, 1)));
  if (stop_at != Clock::time_point()) {
    absl::StrAppend(&json, ",\"stop_s\":", absl::StrFormat("%.3f", Seconds(stop_at - start)),
                    ",\"open_at_stop\":", open_at_stop);
  }
  if (options.read_interval_ms > 0) {
    absl::StrAppend(&json, ",\"read_interval_ms\":", options.read_interval_ms);
  }
  if (options.max_pages > 0) absl::StrAppend(&json, ",\"max_pages\":", options.max_pages);
  if (options.verify) {
    absl::StrAppend(&json, ",\"distinct_followers_per_stream_min\":", min_distinct,
                    ",\"distinct_followers_per_stream_max\":", max_distinct,
                    ",\"digest_mismatches\":", digest_mismatches);
  }
  if (!errors.empty()) absl::StrAppend(&json, ",\"errors\":", JsonString(errors));
  absl::StrAppend(&json, "}");
  return json;
}

int Run() {
  const int streams = absl::GetFlag(FLAGS_streams);
  const int per_connection = absl::GetFlag(FLAGS_streams_per_connection);
  const int threads = absl::GetFlag(FLAGS_threads);
  followgate::v1::StreamFollowersRequest request;
  request.set_followee(absl::GetFlag(FLAGS_followee));
  followgate::v1::FollowerFilter filter;
  if (streams < 1 || per_connection < 1 || threads < 1 ||
      absl::GetFlag(FLAGS_read_interval_ms) < 0 || absl::GetFlag(FLAGS_max_pages) < 0 ||
      !FilterOf(absl::GetFlag(FLAGS_edge_type), &filter)) {
    std::fprintf(stderr,
                 "many_streams_client: --streams, --streams_per_connection and --threads must "
                 "be positive, --read_interval_ms and --max_pages not negative, --edge_type "
                 "members, pages or all\n");
    return 2;
  }
  request.set_follower_filter(filter);
  CallOptions options;
  options.read_interval_ms = absl::GetFlag(FLAGS_read_interval_ms);
  options.max_pages = absl::GetFlag(FLAGS_max_pages);
  options.verify = absl::GetFlag(FLAGS_verify);

  const std::string target = absl::GetFlag(FLAGS_server);
  const int connections = (streams + per_connection - 1) / per_connection;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<FollowsService::Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    channels.push_back(NewConnection(target, i));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(30))) {
      std::fprintf(stderr, "many_streams_client: cannot connect to %s\n", target.c_str());
      return 1;
    }
    stubs.push_back(FollowsService::NewStub(channels.back()));
  }

  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int i = 0; i < threads; ++i) queues.push_back(std::make_unique<grpc::CompletionQueue>());
  Progress progress(streams);
  std::vector<std::unique_ptr<Call>> calls;
  calls.reserve(streams);
  for (int i = 0; i < streams; ++i) {
    calls.push_back(std::make_unique<Call>(&progress, options, queues[i % threads].get()));
  }
  std::vector<std::thread> drainers;
  for (auto& cq : queues) drainers.emplace_back(DrainQueue, cq.get());

  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < streams; ++i) calls[i]->Start(stubs[i % connections].get(), request, timeout);

  const bool hold = absl::GetFlag(FLAGS_hold_until_stdin_closes);
  std::thread stdin_watcher;
  if (hold) {
    stdin_watcher = std::thread([&progress] {
      WaitForStdinToClose();
      progress.RequestStop();
    });
  }
  const bool all_ready = progress.WaitUntilSettledOrStopped();
  Clock::time_point all_ready_at;
  if (all_ready) {
    all_ready_at = progress.all_ready_at();
    std::printf("READY {\"streams\":%d,\"connections\":%d,\"ready_s\":%.3f}\n", streams,
                connections, Seconds(all_ready_at - start));
    std::fflush(stdout);
  }
  if (hold) stdin_watcher.join();
  // Without a hold, a call that ended before its first message ends the run.
  if (hold || !all_ready) {
    for (auto& call : calls) call->Stop();
  }
  progress.WaitUntilAllEnded();
  for (auto& cq : queues) cq->Shutdown();
  for (auto& t : drainers) t.join();

  std::printf("%s\n", Summary(calls, connections, start, all_ready_at, progress.stop_at(), options,
                              request.followee())
                          .c_str());
  for (const auto& call : calls) {
    const CallResult& r = call->result();
    if (!(r.status.ok() && r.saw_last_page) && !r.stopped_by_client) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
