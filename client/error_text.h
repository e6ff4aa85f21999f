// How the CLI words a server's error on stderr. Pure functions; thread-safe.
#ifndef FOLLOWGATE_CLIENT_ERROR_TEXT_H_
#define FOLLOWGATE_CLIENT_ERROR_TEXT_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace followgate::cli {

// What a gRPC error's google.rpc details (the `grpc-status-details-bin`
// trailer, serialized google.rpc.Status) say; empty fields when absent or
// unparsable.
struct ErrorDetails {
  std::string reason;                          // ErrorInfo.reason
  std::map<std::string, std::string> metadata;  // ErrorInfo.metadata
  std::optional<absl::Duration> retry_delay;   // RetryInfo.retry_delay
};
ErrorDetails ParseErrorDetails(absl::string_view serialized_status);

// A sentence a person can act on when `message` (gRPC's text of a failed
// connection) shows a TLS handshake that no retry fixes: the server's
// certificate does not verify with --tls_ca_file, the server wants a client
// certificate or refuses this one, or one side does not speak TLS.
std::optional<std::string> ExplainTlsFailure(absl::string_view message);

// A hint (not a certainty, so the error stays retryable) for a connection
// the server closed before any answer: gRPC 1.51 says only "Socket closed"
// when the server refuses the client's certificate, wants one, or speaks TLS
// to a plaintext client. nullopt for other messages.
std::optional<std::string> HintForClosedConnection(absl::string_view message);

// "CODE: message (reason REASON, retry in D)", plus the TLS explanation on
// its own line when there is one (else the closed-connection hint). The reason is left out when it only
// repeats the code's name.
std::string DescribeError(absl::StatusCode code, absl::string_view message,
                          const ErrorDetails& details);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_ERROR_TEXT_H_
