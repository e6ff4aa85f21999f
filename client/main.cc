// followgate: the command-line client of the followgate server.
//
//   followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all]
//              [--format=jsonl|csv]
//   followgate --server=HOST:PORT following URN [--format=jsonl|csv]
//   followgate --server=HOST:PORT invite --company=ID [--account=ID]
//              [--request_id=ID] [--retry_unknown]
//              (--profiles_file=FILE | URN...) [--format=jsonl|csv]
//   followgate --server=HOST:PORT invitation --company=ID URN
//   followgate --server=HOST:PORT snapshots URN [--edge_type=...]
//   followgate --server=HOST:PORT changes URN [--edge_type=...]
//              [--since=TIME | --from_snapshot=ID] [--to_snapshot=ID]
//
// Results go to stdout, one per line; progress (when stderr is a terminal)
// and a summary go to stderr. followers and following reconnect after
// UNAVAILABLE and continue after the last page written (--reconnect). Exit 0 on success, 1 when the server answers an
// error (its code name and message on stderr), 2 on bad usage, 3 when an
// invitation batch finished with UNKNOWN profiles.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
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
#include "client/checkpoint.h"
#include "client/edge_format.h"
#include "client/error_text.h"
#include "client/snapshot_format.h"
#include "client/invite_format.h"
#include "client/stream_printer.h"
#include "followgate/v1/follows.grpc.pb.h"
#include "followgate/v1/invitations.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "server/base/secrets.h"
#include "server/base/uuid.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "followgate server, HOST:PORT.");
ABSL_FLAG(std::string, edge_type, "all",
          "followers: which followers, members|pages|all.");
ABSL_FLAG(std::string, format, "jsonl", "Output format: jsonl|csv.");
ABSL_FLAG(absl::Duration, timeout, absl::InfiniteDuration(),
          "Deadline for the whole call (e.g. 30m); none by default.");
ABSL_FLAG(std::string, checkpoint, "",
          "followers, following: after each page written to stdout, record where "
          "the stream is in this file (atomically); started again with the same "
          "file, continue right after. Delete the file to start over.");
ABSL_FLAG(std::string, max_staleness, "",
          "followers, following: accept a stored snapshot this old (e.g. 2h) "
          "instead of asking LinkedIn again; the server's default when empty.");
ABSL_FLAG(bool, reconnect, true,
          "followers, following: after UNAVAILABLE or a lost connection, reconnect "
          "(as the server's RetryInfo says, else with capped exponential backoff) and "
          "continue right after the last page written, until done or --timeout; "
          "false: exit 1 at once.");
ABSL_FLAG(int, priority, 0,
          "followers, following: higher goes first when waiting for LinkedIn's budget.");
ABSL_FLAG(std::string, caller, "",
          "Names this caller to the server (header x-followgate-caller), for fair "
          "sharing and logs.");
ABSL_FLAG(std::string, token_file, "",
          "File holding this caller's token for the server (default: env "
          "FOLLOWGATE_TOKEN); sent as authorization: Bearer.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "TLS: CA certificate (PEM) to verify the server with; turns TLS on.");
ABSL_FLAG(std::string, tls_cert_file, "", "Mutual TLS: this client's certificate (PEM).");
ABSL_FLAG(std::string, tls_key_file, "", "Mutual TLS: this client's private key (PEM).");
ABSL_FLAG(std::string, company, "", "invite, invitation: the numeric company id.");
ABSL_FLAG(std::string, account, "", "invite: the ConnectSafely account (optional).");
ABSL_FLAG(std::string, request_id, "",
          "invite: the batch's id; repeating it never sends anyone twice. Made "
          "and printed when not given.");
ABSL_FLAG(bool, retry_unknown, false,
          "invite: also re-send profiles whose earlier outcome is UNKNOWN.");
ABSL_FLAG(bool, snapshot_columns, false,
          "followers, following: add snapshotId and fetchTime columns to each row.");
ABSL_FLAG(std::string, since, "",
          "changes: compare with the newest complete snapshot at or before this RFC 3339 "
          "time (e.g. 2026-12-01T00:00:00Z).");
ABSL_FLAG(int64_t, from_snapshot, 0, "changes: the older snapshot's id (see snapshots).");
ABSL_FLAG(int64_t, to_snapshot, 0, "changes: the newer snapshot's id; unset: the newest.");
ABSL_FLAG(std::string, profiles_file, "",
          "invite: file with one profile URN per line (instead of URN arguments).");

namespace followgate::cli {
namespace {

constexpr char kUsage[] =
    "followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all] "
    "[--format=jsonl|csv] [--checkpoint=FILE] [--max_staleness=D] [--priority=N] "
    "[--caller=NAME] [--timeout=D] [--reconnect=false]\n"
    "followgate --server=HOST:PORT following URN [--format=jsonl|csv] [--checkpoint=FILE] "
    "[--max_staleness=D] [--priority=N] [--caller=NAME] [--timeout=D]\n"
    "followgate --server=HOST:PORT invite --company=ID [--account=ID] [--request_id=ID] "
    "[--retry_unknown] (--profiles_file=FILE | URN...) [--format=jsonl|csv]\n"
    "followgate --server=HOST:PORT invitation --company=ID URN [--format=jsonl|csv]\n"
    "followgate --server=HOST:PORT snapshots URN [--edge_type=members|pages|all] "
    "[--format=jsonl|csv]\n"
    "followgate --server=HOST:PORT changes URN [--edge_type=members|pages|all] "
    "[--since=TIME | --from_snapshot=ID] [--to_snapshot=ID] [--format=jsonl|csv]";

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

// Plaintext, TLS (--tls_ca_file) or mutual TLS (also a certificate and key).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty()) {
      return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file need --tls_ca_file");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  auto root = followgate::ReadFlagFile(ca, "tls_ca_file");
  if (!root.ok()) return root.status();
  ssl.pem_root_certs = *root;
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("mutual TLS needs both --tls_cert_file and --tls_key_file");
  }
  if (!cert.empty()) {
    auto chain = followgate::ReadFlagFile(cert, "tls_cert_file");
    if (!chain.ok()) return chain.status();
    auto private_key = followgate::ReadFlagFile(key, "tls_key_file");
    if (!private_key.ok()) return private_key.status();
    ssl.pem_cert_chain = *chain;
    ssl.pem_private_key = *private_key;
  }
  return grpc::SslCredentials(ssl);
}

// Exit status for a finished call; prints the error with its reason and
// retry delay.
int ReportStatus(const grpc::Status& status) {
  if (status.ok()) return 0;
  absl::FPrintF(stderr, "followgate: %s\n",
                DescribeError(static_cast<absl::StatusCode>(status.error_code()),
                              status.error_message(),
                              ParseErrorDetails(status.error_details())));
  return 1;
}

// The command line once the flags are parsed: the command, its operands and
// the output format.
struct Invocation {
  std::string command;
  std::vector<std::string> operands;
  EdgeFormat format = EdgeFormat::kJsonLines;
  // The one URN every command but invite takes ("" for invite).
  std::string urn;
};

// INVALID_ARGUMENT (a usage error) when there is no command, --format is
// neither jsonl nor csv, or a command other than invite has not exactly one
// operand. Whether the command exists is the dispatcher's to say.
absl::StatusOr<Invocation> ParseInvocation(const std::vector<char*>& args) {
  if (args.size() < 2) return absl::InvalidArgumentError("expected a command");
  Invocation invocation;
  invocation.command = args[1];
  invocation.operands.assign(args.begin() + 2, args.end());
  auto format = ParseEdgeFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return format.status();
  invocation.format = *format;
  if (invocation.command != "invite" && invocation.operands.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(invocation.command, " takes exactly one URN"));
  }
  if (!invocation.operands.empty()) invocation.urn = invocation.operands[0];
  return invocation;
}

// Names the caller (--caller), adds its token (--token_file or
// FOLLOWGATE_TOKEN; none is fine) and the run's deadline (from --timeout) to
// `context`.
// The error of a token file that cannot be read.
absl::Status PrepareCall(grpc::ClientContext* context, absl::Time deadline) {
  auto token = followgate::ReadSecret(absl::GetFlag(FLAGS_token_file), "FOLLOWGATE_TOKEN");
  if (!token.ok() && !absl::IsNotFound(token.status())) return token.status();
  if (const std::string caller = absl::GetFlag(FLAGS_caller); !caller.empty()) {
    context->AddMetadata("x-followgate-caller", caller);
  }
  if (token.ok()) context->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  if (deadline != absl::InfiniteFuture()) context->set_deadline(absl::ToChronoTime(deadline));
  return absl::OkStatus();
}

// What --checkpoint, --max_staleness and --priority say for the followers
// and following streams.
struct StreamFlags {
  std::string checkpoint;
  // From the checkpoint file; "" to start from the beginning.
  std::string resume_token;
  // The checkpoint holds a finished stream: this run starts a new one.
  bool checkpoint_finished = false;
  std::optional<google::protobuf::Duration> max_staleness;
  int priority = 0;
};

// Every command checks these flags, so a malformed one is a usage error
// whatever the command: an unreadable checkpoint, or a --max_staleness that
// is not a duration of 0 or more.
absl::StatusOr<StreamFlags> ReadStreamFlags() {
  StreamFlags flags;
  flags.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  if (!flags.checkpoint.empty()) {
    auto checkpoint = ReadCheckpoint(flags.checkpoint);
    if (!checkpoint.ok()) return checkpoint.status();
    flags.checkpoint_finished = checkpoint->finished;
    if (!checkpoint->finished) flags.resume_token = checkpoint->token;
  }
  if (const std::string text = absl::GetFlag(FLAGS_max_staleness); !text.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max_staleness must be a duration like 2h, got \"", text, "\""));
    }
    flags.max_staleness = google::protobuf::util::TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(d));
  }
  flags.priority = absl::GetFlag(FLAGS_priority);
  return flags;
}

// Sets the fields StreamFollowersRequest and StreamFollowingRequest share.
template <typename Request>
void ApplyStreamFlags(const StreamFlags& flags, Request* request) {
  request->set_priority(flags.priority);
  if (flags.max_staleness.has_value()) *request->mutable_max_staleness() = *flags.max_staleness;
}

// A new channel for each attempt, with subchannels of its own: a reconnect
// dials at once instead of waiting out gRPC's own connection backoff.
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>()>;

StreamRun MakeStreamRun(const Invocation& invocation, const StreamFlags& flags,
                        absl::Time deadline) {
  if (flags.checkpoint_finished) {
    absl::FPrintF(stderr,
                  "followgate: the checkpoint %s holds a finished stream: starting a new "
                  "stream\n",
                  flags.checkpoint);
  }
  StreamRun run;
  run.format = invocation.format;
  run.snapshot_columns = absl::GetFlag(FLAGS_snapshot_columns);
  run.checkpoint = flags.checkpoint;
  run.resume_token = flags.resume_token;
  run.reconnect = absl::GetFlag(FLAGS_reconnect);
  run.deadline = deadline;
  run.prepare = PrepareCall;
  return run;
}

// followers URN: the page's followers, filtered by --edge_type.
int Followers(const ChannelFactory& channels, const Invocation& invocation,
              const StreamFlags& flags, absl::Time deadline) {
  auto filter = ParseEdgeType(absl::GetFlag(FLAGS_edge_type));
  if (!filter.ok()) return UsageError(filter.status().message());
  v1::StreamFollowersRequest request;
  request.set_followee(invocation.urn);
  request.set_follower_filter(*filter);
  ApplyStreamFlags(flags, &request);
  std::unique_ptr<v1::FollowsService::Stub> stub;
  OpenStream<v1::FollowerPage> open = [&](grpc::ClientContext* context,
                                          const std::string& token) {
    stub = v1::FollowsService::NewStub(channels());
    request.set_resume_token(token);
    return stub->StreamFollowers(context, request);
  };
  return PrintStream(open, MakeStreamRun(invocation, flags, deadline));
}

// following URN: the pages a follower follows.
int Following(const ChannelFactory& channels, const Invocation& invocation,
              const StreamFlags& flags, absl::Time deadline) {
  v1::StreamFollowingRequest request;
  request.set_follower(invocation.urn);
  ApplyStreamFlags(flags, &request);
  std::unique_ptr<v1::FollowsService::Stub> stub;
  OpenStream<v1::FollowingPage> open = [&](grpc::ClientContext* context,
                                           const std::string& token) {
    stub = v1::FollowsService::NewStub(channels());
    request.set_resume_token(token);
    return stub->StreamFollowing(context, request);
  };
  return PrintStream(open, MakeStreamRun(invocation, flags, deadline));
}

// The batch invite asks for: --company, --account, --request_id,
// --retry_unknown, and the profiles from --profiles_file or the operands
// (not both, and at least one). INVALID_ARGUMENT (a usage error) otherwise.
absl::StatusOr<v1::SendInvitationsRequest> InviteRequest(const Invocation& invocation) {
  v1::SendInvitationsRequest request;
  request.set_company_id(absl::GetFlag(FLAGS_company));
  request.set_account_id(absl::GetFlag(FLAGS_account));
  request.set_request_id(absl::GetFlag(FLAGS_request_id));
  request.set_retry_unknown(absl::GetFlag(FLAGS_retry_unknown));
  const std::string profiles_file = absl::GetFlag(FLAGS_profiles_file);
  if (!profiles_file.empty() && !invocation.operands.empty()) {
    return absl::InvalidArgumentError(
        "give profiles either with --profiles_file or as arguments");
  }
  if (!profiles_file.empty()) {
    auto urns = ReadProfilesFile(profiles_file);
    if (!urns.ok()) return urns.status();
    for (std::string& u : *urns) request.add_profile_urns(std::move(u));
  } else {
    for (const std::string& u : invocation.operands) request.add_profile_urns(u);
  }
  if (request.profile_urns().empty()) return absl::InvalidArgumentError("no profiles to invite");
  return request;
}

// A batch without --request_id gets a fresh one, printed so that the caller
// can repeat the call safely.
void EnsureRequestId(v1::SendInvitationsRequest* request) {
  if (!request->request_id().empty()) return;
  request->set_request_id(NewUuid());
  absl::FPrintF(stderr,
                "followgate: request_id %s (repeat the call with --request_id=%s to "
                "resume it safely)\n",
                request->request_id(), request->request_id());
}

// What one SendInvitations call saw of its batch.
struct BatchSeen {
  // At least one message arrived.
  bool started = false;
  // Upstream requests of the batch before this call (from the first message).
  int requests_before = 0;
  // The last message's counts.
  v1::BatchProgress progress;
};

// Reads the stream to its end, writing each profile's outcome to stdout as
// it comes and, when `live` (stderr is a terminal), a progress line to
// stderr. False when the output cannot be written (the call is cancelled).
bool PrintInvitationStream(grpc::ClientContext* context,
                           grpc::ClientReader<v1::SendInvitationsResponse>* reader,
                           EdgeFormat format, bool live, BatchSeen* seen) {
  std::string out = FormatInviteHeader(format);
  v1::SendInvitationsResponse response;
  while (reader->Read(&response)) {
    if (!seen->started) seen->requests_before = response.progress().upstream_requests();
    seen->started = true;
    for (const v1::ProfileResult& result : response.results()) {
      AppendProfileResult(format, result, &out);
    }
    if (!WriteOut(out)) {
      context->TryCancel();
      return false;
    }
    out.clear();
    seen->progress = response.progress();
    const v1::BatchProgress& progress = seen->progress;
    if (live) {
      absl::FPrintF(stderr, "\r\033[K%d/%d profiles decided, %d sent, %d upstream requests",
                    progress.decided_profiles(), progress.total_profiles(), progress.sent(),
                    progress.upstream_requests());
    }
  }
  return WriteOut(out);
}

// The batch's one-line summary on stderr (replacing the live progress line).
void PrintBatchSummary(const v1::SendInvitationsRequest& request, const BatchSeen& seen,
                       bool live) {
  const v1::BatchProgress& progress = seen.progress;
  absl::FPrintF(stderr,
                "%sbatch %s: %d/%d profiles decided: %d sent, %d already invited, %d failed, "
                "%d skipped (duplicate), %d skipped (no credit), %d unknown; %d upstream "
                "requests, %d of them by this call\n",
                live ? "\r\033[K" : "", request.request_id(), progress.decided_profiles(),
                request.profile_urns_size(), progress.sent(), progress.already_invited(),
                progress.failed(), progress.skipped_duplicate(), progress.skipped_no_credit(),
                progress.unknown(), progress.upstream_requests(),
                progress.upstream_requests() - seen.requests_before);
}

// invite: sends the batch and prints each profile's outcome as it comes,
// then a summary. Exits 3 when the batch finished with UNKNOWN profiles
// (saying how to go on), otherwise as ReportStatus.
int Invite(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* context,
           const Invocation& invocation) {
  auto request = InviteRequest(invocation);
  if (!request.ok()) return UsageError(request.status().message());
  const bool live = isatty(STDERR_FILENO) != 0;
  EnsureRequestId(&*request);
  auto stub = v1::InvitationsService::NewStub(channel);
  auto reader = stub->SendInvitations(context, *request);
  BatchSeen seen;
  if (!PrintInvitationStream(context, reader.get(), invocation.format, live, &seen)) return 1;
  const grpc::Status status = reader->Finish();
  if (!seen.started) return ReportStatus(status);
  PrintBatchSummary(*request, seen, live);
  if (status.ok() && seen.progress.unknown() > 0) {
    absl::FPrintF(stderr,
                  "followgate: %d profiles are UNKNOWN: their request may have reached "
                  "ConnectSafely. Check them, then send them with --retry_unknown if need be\n",
                  seen.progress.unknown());
    return 3;
  }
  return ReportStatus(status);
}

// invitation URN: what the server recorded of the profile's invitation to
// --company.
int ShowInvitation(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* context,
                   const Invocation& invocation) {
  v1::GetInvitationRequest request;
  request.set_company_id(absl::GetFlag(FLAGS_company));
  request.set_profile_urn(invocation.urn);
  auto stub = v1::InvitationsService::NewStub(channel);
  v1::Invitation invitation;
  const grpc::Status status = stub->GetInvitation(context, request, &invitation);
  if (status.ok()) {
    std::string out = FormatInviteHeader(invocation.format);
    AppendInvitation(invocation.format, invitation, &out);
    if (!WriteOut(out)) return 1;
  }
  return ReportStatus(status);
}

// snapshots URN: the retained snapshots of the page's followers, newest
// first, every page of ListSnapshots.
int ListSnapshotsCommand(const std::shared_ptr<grpc::Channel>& channel, absl::Time deadline,
                         const Invocation& invocation) {
  auto filter = ParseEdgeType(absl::GetFlag(FLAGS_edge_type));
  if (!filter.ok()) return UsageError(filter.status().message());
  v1::ListSnapshotsRequest request;
  request.set_followee(invocation.urn);
  request.set_follower_filter(*filter);
  auto stub = v1::FollowsService::NewStub(channel);
  std::string out = FormatSnapshotHeader(invocation.format);
  for (;;) {
    grpc::ClientContext context;
    if (absl::Status prepared = PrepareCall(&context, deadline); !prepared.ok()) {
      return UsageError(prepared.message());
    }
    v1::ListSnapshotsResponse response;
    const grpc::Status status = stub->ListSnapshots(&context, request, &response);
    if (!status.ok()) {
      if (!WriteOut(out)) return 1;
      return ReportStatus(status);
    }
    for (const v1::Snapshot& snapshot : response.snapshots()) {
      AppendSnapshot(invocation.format, snapshot, &out);
    }
    if (!WriteOut(out)) return 1;
    out.clear();
    if (response.next_page_token().empty()) return 0;
    request.set_page_token(response.next_page_token());
  }
}

// changes URN: who followed and who left between two snapshots (by default
// the two newest), one row per change with its changeType.
int Changes(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* context,
            const Invocation& invocation) {
  auto filter = ParseEdgeType(absl::GetFlag(FLAGS_edge_type));
  if (!filter.ok()) return UsageError(filter.status().message());
  v1::StreamFollowerChangesRequest request;
  request.set_followee(invocation.urn);
  request.set_follower_filter(*filter);
  request.set_from_snapshot_id(absl::GetFlag(FLAGS_from_snapshot));
  request.set_to_snapshot_id(absl::GetFlag(FLAGS_to_snapshot));
  if (const std::string since = absl::GetFlag(FLAGS_since); !since.empty()) {
    if (request.from_snapshot_id() != 0) {
      return UsageError("--since and --from_snapshot name the same snapshot: give one");
    }
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, since, &t, &error)) {
      return UsageError(absl::StrCat("--since must be an RFC 3339 time like "
                                     "2026-12-01T00:00:00Z, got \"", since, "\""));
    }
    *request.mutable_from_time() =
        google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
  }
  auto stub = v1::FollowsService::NewStub(channel);
  auto reader = stub->StreamFollowerChanges(context, request);
  std::string out = FormatChangeHeader(invocation.format);
  v1::FollowerChangesPage page;
  while (reader->Read(&page)) {
    for (const v1::FollowChange& change : page.changes()) {
      AppendChange(invocation.format, change, &out);
    }
    if (!WriteOut(out)) return 1;
    out.clear();
  }
  if (!out.empty() && !WriteOut(out)) return 1;
  return ReportStatus(reader->Finish());
}

// Checks the command line and the flags every command shares (usage errors
// exit 2), then runs the command.
int Run(const std::vector<char*>& args) {
  auto invocation = ParseInvocation(args);
  if (!invocation.ok()) return UsageError(invocation.status().message());
  auto credentials = ChannelCredentials();
  if (!credentials.ok()) return UsageError(credentials.status().message());
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  grpc::ClientContext context;
  if (absl::Status prepared = PrepareCall(&context, deadline); !prepared.ok()) {
    return UsageError(prepared.message());
  }
  auto stream_flags = ReadStreamFlags();
  if (!stream_flags.ok()) return UsageError(stream_flags.status().message());
  const std::string server = absl::GetFlag(FLAGS_server);
  auto channel = grpc::CreateChannel(server, *credentials);
  ChannelFactory channels = [&] {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(server, *credentials, args);
  };
  const std::string& command = invocation->command;
  if (command == "followers") return Followers(channels, *invocation, *stream_flags, deadline);
  if (command == "following") return Following(channels, *invocation, *stream_flags, deadline);
  if (command == "invite") return Invite(channel, &context, *invocation);
  if (command == "invitation") return ShowInvitation(channel, &context, *invocation);
  if (command == "snapshots") return ListSnapshotsCommand(channel, deadline, *invocation);
  if (command == "changes") return Changes(channel, &context, *invocation);
  return UsageError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace followgate::cli

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      absl::StrCat("the followgate command-line client. Usage:\n", followgate::cli::kUsage));
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "client/main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  return followgate::cli::Run(args);
}
