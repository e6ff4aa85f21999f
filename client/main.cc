// followgate: the command-line client of the followgate server.
//
//   followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all]
//              [--format=jsonl|csv]
//   followgate --server=HOST:PORT following URN [--format=jsonl|csv]
//   followgate --server=HOST:PORT invite --company=ID [--account=ID]
//              [--request_id=ID] [--retry_unknown]
//              (--profiles_file=FILE | URN...) [--format=jsonl|csv]
//   followgate --server=HOST:PORT invitation --company=ID URN
//
// Results go to stdout, one per line; progress (when stderr is a terminal)
// and a summary go to stderr. Exit 0 on success, 1 when the server answers an
// error (its code name and message on stderr), 2 on bad usage, 3 when an
// invitation batch finished with UNKNOWN profiles.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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
#include "client/invite_format.h"
#include "client/progress.h"
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
ABSL_FLAG(std::string, profiles_file, "",
          "invite: file with one profile URN per line (instead of URN arguments).");

namespace followgate::cli {
namespace {

constexpr char kUsage[] =
    "followgate --server=HOST:PORT followers URN [--edge_type=members|pages|all] "
    "[--format=jsonl|csv] [--checkpoint=FILE] [--max_staleness=D] [--priority=N] "
    "[--caller=NAME] [--timeout=D]\n"
    "followgate --server=HOST:PORT following URN [--format=jsonl|csv] [--checkpoint=FILE] "
    "[--max_staleness=D] [--priority=N] [--caller=NAME] [--timeout=D]\n"
    "followgate --server=HOST:PORT invite --company=ID [--account=ID] [--request_id=ID] "
    "[--retry_unknown] (--profiles_file=FILE | URN...) [--format=jsonl|csv]\n"
    "followgate --server=HOST:PORT invitation --company=ID URN [--format=jsonl|csv]";

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

// Writes `text` to stdout and flushes it; on failure (a full disk, a closed
// stdout) says so and returns false.
bool WriteOut(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
      std::fflush(stdout) == 0) {
    return true;
  }
  absl::FPrintF(stderr, "followgate: cannot write the output: %s\n", std::strerror(errno));
  return false;
}

// Exit status for a finished call; prints the error.
int ReportStatus(const grpc::Status& status) {
  if (status.ok()) return 0;
  absl::FPrintF(stderr, "followgate: %s: %s\n",
                absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                status.error_message());
  return 1;
}

// Reads a stream of pages to its end, printing every edge.
template <typename Page>
int PrintStream(grpc::ClientContext* context, grpc::ClientReader<Page>* reader,
                EdgeFormat format, bool resumed, const std::string& checkpoint) {
  Progress progress(stderr, isatty(STDERR_FILENO) != 0, absl::Now());
  // A resumed run appends to what an earlier run wrote: no second header.
  std::string out = resumed ? "" : FormatHeader(format);
  Page page;
  int64_t pages = 0;
  while (reader->Read(&page)) {
    if (page.has_heartbeat()) {
      progress.OnWaiting(page.heartbeat().queue_position(),
                         absl::Seconds(page.heartbeat().estimated_wait().seconds()) +
                             absl::Nanoseconds(page.heartbeat().estimated_wait().nanos()),
                         absl::Now());
      continue;
    }
    ++pages;
    for (const v1::FollowEdge& edge : page.edges()) AppendEdge(format, edge, &out);
    // Whole pages reach the file or pipe at once: pages come minutes apart,
    // and an interrupted run keeps every complete line it received.
    if (!WriteOut(out)) {
      context->TryCancel();
      return 1;  // Nothing checkpointed past what was written.
    }
    out.clear();
    if (!checkpoint.empty()) {
      // Only after the page is out: a crash in between repeats it, never
      // skips it.
      fsync(STDOUT_FILENO);
      if (absl::Status saved = WriteCheckpoint(checkpoint, page.resume_token()); !saved.ok()) {
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
  const grpc::Status status = reader->Finish();
  progress.Finish(absl::Now());
  if (status.ok() && resumed && pages == 0) {
    absl::FPrintF(stderr,
                  "followgate: the checkpoint %s is at the end of the stream: nothing more "
                  "to read. Delete it to read the followers again\n",
                  checkpoint);
  }
  if (!status.ok() && resumed && status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    absl::FPrintF(stderr, "followgate: (the token came from --checkpoint %s; delete it to "
                          "start over)\n",
                  checkpoint);
  }
  return ReportStatus(status);
}

// Sends a batch and prints each profile's outcome as it comes.
int Invite(v1::InvitationsService::Stub* stub, grpc::ClientContext* context,
           v1::SendInvitationsRequest request, EdgeFormat format) {
  const bool live = isatty(STDERR_FILENO) != 0;
  if (request.request_id().empty()) {
    request.set_request_id(NewUuid());
    absl::FPrintF(stderr,
                  "followgate: request_id %s (repeat the call with --request_id=%s to "
                  "resume it safely)\n",
                  request.request_id(), request.request_id());
  }
  auto reader = stub->SendInvitations(context, request);
  std::string out = FormatInviteHeader(format);
  v1::SendInvitationsResponse response;
  v1::BatchProgress progress;
  bool started = false;
  int requests_before = 0;
  while (reader->Read(&response)) {
    if (!started) requests_before = response.progress().upstream_requests();
    started = true;
    for (const v1::ProfileResult& result : response.results()) {
      AppendProfileResult(format, result, &out);
    }
    if (!WriteOut(out)) {
      context->TryCancel();
      return 1;
    }
    out.clear();
    progress = response.progress();
    if (live) {
      absl::FPrintF(stderr, "\r\033[K%d/%d profiles decided, %d sent, %d upstream requests",
                    progress.decided_profiles(), progress.total_profiles(), progress.sent(),
                    progress.upstream_requests());
    }
  }
  if (!WriteOut(out)) return 1;
  const grpc::Status status = reader->Finish();
  if (!started) return ReportStatus(status);
  absl::FPrintF(stderr,
                "%sbatch %s: %d/%d profiles decided: %d sent, %d already invited, %d failed, "
                "%d skipped (duplicate), %d skipped (no credit), %d unknown; %d upstream "
                "requests, %d of them by this call\n",
                live ? "\r\033[K" : "", request.request_id(), progress.decided_profiles(),
                request.profile_urns_size(), progress.sent(), progress.already_invited(),
                progress.failed(), progress.skipped_duplicate(), progress.skipped_no_credit(),
                progress.unknown(), progress.upstream_requests(),
                progress.upstream_requests() - requests_before);
  if (status.ok() && progress.unknown() > 0) {
    absl::FPrintF(stderr,
                  "followgate: %d profiles are UNKNOWN: their request may have reached "
                  "ConnectSafely. Check them, then send them with --retry_unknown if need be\n",
                  progress.unknown());
    return 3;
  }
  return ReportStatus(status);
}

int Run(const std::vector<char*>& args) {
  if (args.size() < 2) return UsageError("expected a command");
  const std::string command = args[1];
  const std::vector<std::string> operands(args.begin() + 2, args.end());
  auto format = ParseEdgeFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return UsageError(format.status().message());
  if (command != "invite" && operands.size() != 1) {
    return UsageError(absl::StrCat(command, " takes exactly one URN"));
  }
  const std::string urn = operands.empty() ? "" : operands[0];

  auto credentials = ChannelCredentials();
  if (!credentials.ok()) return UsageError(credentials.status().message());
  auto token = followgate::ReadSecret(absl::GetFlag(FLAGS_token_file), "FOLLOWGATE_TOKEN");
  if (!token.ok() && !absl::IsNotFound(token.status())) {
    return UsageError(token.status().message());
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_server), *credentials);
  auto stub = v1::FollowsService::NewStub(channel);
  auto invitations = v1::InvitationsService::NewStub(channel);
  grpc::ClientContext context;
  if (const std::string caller = absl::GetFlag(FLAGS_caller); !caller.empty()) {
    context.AddMetadata("x-followgate-caller", caller);
  }
  if (token.ok()) context.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }

  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  std::string resume_token;
  if (!checkpoint.empty()) {
    auto token = ReadCheckpoint(checkpoint);
    if (!token.ok()) return UsageError(token.status().message());
    resume_token = *token;
  }
  std::optional<google::protobuf::Duration> max_staleness;
  if (const std::string text = absl::GetFlag(FLAGS_max_staleness); !text.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
      return UsageError(absl::StrCat("--max_staleness must be a duration like 2h, got \"",
                                     text, "\""));
    }
    max_staleness = google::protobuf::util::TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(d));
  }
  if (command == "followers") {
    auto filter = ParseEdgeType(absl::GetFlag(FLAGS_edge_type));
    if (!filter.ok()) return UsageError(filter.status().message());
    v1::StreamFollowersRequest request;
    request.set_followee(urn);
    request.set_follower_filter(*filter);
    request.set_priority(absl::GetFlag(FLAGS_priority));
    request.set_resume_token(resume_token);
    if (max_staleness.has_value()) *request.mutable_max_staleness() = *max_staleness;
    auto reader = stub->StreamFollowers(&context, request);
    return PrintStream(&context, reader.get(), *format, !resume_token.empty(), checkpoint);
  }
  if (command == "following") {
    v1::StreamFollowingRequest request;
    request.set_follower(urn);
    request.set_priority(absl::GetFlag(FLAGS_priority));
    request.set_resume_token(resume_token);
    if (max_staleness.has_value()) *request.mutable_max_staleness() = *max_staleness;
    auto reader = stub->StreamFollowing(&context, request);
    return PrintStream(&context, reader.get(), *format, !resume_token.empty(), checkpoint);
  }
  if (command == "invite") {
    v1::SendInvitationsRequest request;
    request.set_company_id(absl::GetFlag(FLAGS_company));
    request.set_account_id(absl::GetFlag(FLAGS_account));
    request.set_request_id(absl::GetFlag(FLAGS_request_id));
    request.set_retry_unknown(absl::GetFlag(FLAGS_retry_unknown));
    const std::string profiles_file = absl::GetFlag(FLAGS_profiles_file);
    if (!profiles_file.empty() && !operands.empty()) {
      return UsageError("give profiles either with --profiles_file or as arguments");
    }
    if (!profiles_file.empty()) {
      auto urns = ReadProfilesFile(profiles_file);
      if (!urns.ok()) return UsageError(urns.status().message());
      for (std::string& u : *urns) request.add_profile_urns(std::move(u));
    } else {
      for (const std::string& u : operands) request.add_profile_urns(u);
    }
    if (request.profile_urns().empty()) return UsageError("no profiles to invite");
    return Invite(invitations.get(), &context, std::move(request), *format);
  }
  if (command == "invitation") {
    v1::GetInvitationRequest request;
    request.set_company_id(absl::GetFlag(FLAGS_company));
    request.set_profile_urn(urn);
    v1::Invitation invitation;
    const grpc::Status status = invitations->GetInvitation(&context, request, &invitation);
    if (status.ok()) {
      std::string out = FormatInviteHeader(*format);
      AppendInvitation(*format, invitation, &out);
      if (!WriteOut(out)) return 1;
    }
    return ReportStatus(status);
  }
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
