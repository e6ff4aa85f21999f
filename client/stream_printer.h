// The followers and following streams of the CLI, printed to stdout: one
// attempt after another, reconnecting after retryable errors (reconnect.h)
// and continuing right after the last page written, with the checkpoint
// (checkpoint.h) and progress (progress.h) kept on the way.
//
// Single-threaded: PrintStream runs on the calling thread and sleeps there
// between attempts. Errors are printed on stderr; the return value is the
// exit status.
#ifndef FOLLOWGATE_CLIENT_STREAM_PRINTER_H_
#define FOLLOWGATE_CLIENT_STREAM_PRINTER_H_

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/checkpoint.h"
#include "client/edge_format.h"
#include "client/snapshot_format.h"
#include "client/error_text.h"
#include "client/progress.h"
#include "client/reconnect.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace followgate::cli {

// Writes `text` to stdout and flushes it; on failure (a full disk, a closed
// stdout) says so on stderr and returns false.
bool WriteOut(const std::string& text);

// True when stdout is a regular file that already holds data (a pipeline
// appending with >>): no second CSV header then.
bool StdoutHoldsData();

// What one run of a follows stream needs besides the request.
struct StreamRun {
  EdgeFormat format = EdgeFormat::kJsonLines;
  // --snapshot_columns: each row also carries snapshotId and fetchTime.
  bool snapshot_columns = false;
  std::string checkpoint;  // "" without --checkpoint
  // Where to start: the checkpoint's token, "" for the beginning.
  std::string resume_token;
  // Reconnect after a retryable error (--reconnect).
  bool reconnect = true;
  absl::Time deadline = absl::InfiniteFuture();
  // Adds the caller's metadata and the deadline to each attempt's context;
  // an error ends the run.
  std::function<absl::Status(grpc::ClientContext*, absl::Time deadline)> prepare;
};

// Opens one attempt of the stream on a fresh context, continuing after
// `resume_token` ("" from the beginning).
template <typename Page>
using OpenStream = std::function<std::unique_ptr<grpc::ClientReaderInterface<Page>>(
    grpc::ClientContext* context, const std::string& resume_token)>;

// Reads the stream to its end, printing every edge; reconnects after a
// retryable error (reconnect.h) and continues right after the last page it
// wrote, until the stream is done, an error retrying cannot fix, or the
// deadline.
template <typename Page>
int PrintStream(const OpenStream<Page>& open, const StreamRun& run) {
  Progress progress(stderr, isatty(STDERR_FILENO) != 0, absl::Now());
  absl::BitGen bits;
  Reconnector reconnector(BackoffPolicy(), [&bits] { return absl::Uniform(bits, 0.0, 1.0); },
                          run.deadline);
  std::string token = run.resume_token;
  const bool resumed = !token.empty();
  // A resumed run appends to what an earlier run wrote: no second header.
  std::string out = resumed || StdoutHoldsData() ? ""
                    : run.snapshot_columns ? FormatHeaderWithSnapshot(run.format)
                                           : FormatHeader(run.format);
  int64_t pages = 0;
  for (;;) {
    grpc::ClientContext context;
    if (absl::Status prepared = run.prepare(&context, run.deadline); !prepared.ok()) {
      absl::FPrintF(stderr, "followgate: %s\n", prepared.message());
      return 1;
    }
    std::unique_ptr<grpc::ClientReaderInterface<Page>> reader = open(&context, token);
    Page page;
    while (reader->Read(&page)) {
      reconnector.OnAnswer();
      if (page.has_heartbeat()) {
        progress.OnWaiting(page.heartbeat().queue_position(),
                           absl::Seconds(page.heartbeat().estimated_wait().seconds()) +
                               absl::Nanoseconds(page.heartbeat().estimated_wait().nanos()),
                           absl::Now());
        continue;
      }
      ++pages;
      for (const v1::FollowEdge& edge : page.edges()) {
        if (run.snapshot_columns) {
          AppendEdgeWithSnapshot(run.format, edge, page.snapshot_id(), page.fetch_time(), &out);
        } else {
          AppendEdge(run.format, edge, &out);
        }
      }
      // Whole pages reach the file or pipe at once: pages come minutes apart,
      // and an interrupted run keeps every complete line it received.
      if (!WriteOut(out)) {
        context.TryCancel();
        return 1;  // Nothing checkpointed past what was written.
      }
      out.clear();
      // The next attempt continues after the last page written, whatever
      // the server sent after it.
      if (!page.resume_token().empty()) token = page.resume_token();
      reconnector.OnProgress();
      if (!run.checkpoint.empty()) {
        // Only after the page is out: a crash in between repeats it, never
        // skips it.
        fsync(STDOUT_FILENO);
        if (absl::Status saved =
                WriteCheckpoint(run.checkpoint, Checkpoint{token, page.last_page()});
            !saved.ok()) {
          absl::FPrintF(stderr, "followgate: %s\n", saved.message());
          return 1;
        }
      }
      progress.OnPage(page.edges_size(),
                      absl::Seconds(page.upstream_wait().seconds()) +
                          absl::Nanoseconds(page.upstream_wait().nanos()),
                      absl::Now());
    }
    if (!WriteOut(out)) return 1;
    out.clear();
    const grpc::Status status = reader->Finish();
    if (status.ok()) {
      if (pages == 0 && !token.empty() && token == run.resume_token &&
          !run.checkpoint.empty()) {
        // A checkpoint from before "finished" was recorded, at the end of
        // its stream: a recurring job reads the followers again.
        absl::FPrintF(stderr,
                      "followgate: the checkpoint %s is at the end of its stream: starting "
                      "a new stream\n",
                      run.checkpoint);
        token.clear();
        continue;
      }
      progress.Finish(absl::Now());
      return 0;
    }
    const ErrorDetails details = ParseErrorDetails(status.error_details());
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    const std::string described = DescribeError(code, status.error_message(), details);
    if (run.reconnect && IsRetryable(code, status.error_message()) &&
        reconnector.RefusedEveryConnection(status.error_message())) {
      absl::FPrintF(stderr,
                    "followgate: %s\nfollowgate: not reconnecting: the server closed %d "
                    "connections in a row before answering anything\n",
                    described, Reconnector::kClosedBeforeAnyAnswer);
      return 1;
    }
    if (run.reconnect && IsRetryable(code, status.error_message())) {
      if (std::optional<absl::Duration> delay =
              reconnector.NextDelay(details.retry_delay, absl::Now());
          delay.has_value()) {
        progress.OnReconnect(
            absl::StrCat("followgate: ", described, "; reconnecting in ",
                         absl::FormatDuration(absl::Trunc(*delay, absl::Milliseconds(1))),
                         " (reconnect ", reconnector.reconnects(), ", after ", pages,
                         pages == 1 ? " page" : " pages", ")"),
            absl::Now());
        absl::SleepFor(*delay);
        continue;
      }
      if (pages > 0) progress.Finish(absl::Now());
      absl::FPrintF(stderr, "followgate: %s\nfollowgate: not reconnecting: --timeout ends first\n",
                    described);
      return 1;
    }
    // No "0 edges" summary in front of an error.
    if (pages > 0) progress.Finish(absl::Now());
    absl::FPrintF(stderr, "followgate: %s\n", described);
    if (resumed && code == absl::StatusCode::kInvalidArgument) {
      absl::FPrintF(stderr, "followgate: (the token came from --checkpoint %s; delete it to "
                            "start over)\n",
                    run.checkpoint);
    }
    return 1;
  }
}

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_STREAM_PRINTER_H_
