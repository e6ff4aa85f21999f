// What every gRPC call goes through at the edge, in one place.
#ifndef FOLLOWGATE_SERVER_GRPC_CALL_SCOPE_H_
#define FOLLOWGATE_SERVER_GRPC_CALL_SCOPE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/base/clock.h"
#include "server/base/log.h"
#include "server/grpc/caller_auth.h"
#include "server/grpc/stream_tracker.h"

namespace followgate {

// What a call scope checks against. Not owned; must outlive every call.
struct CallEnvironment {
  const CallerAuth* auth = nullptr;  // Null: no authentication.
  StreamTracker* tracker = nullptr;
  Clock* clock = nullptr;
};

// What a method asks of its callers.
struct MethodPolicy {
  absl::string_view method;  // E.g. "StreamFollowers".
  absl::string_view scope;   // E.g. kScopeFollowsRead.
  // What a caller refused because the server drains should do.
  absl::string_view how_to_continue = kContinueWithResumeToken;
};

// One call, from its admission to its one log line. Begin() authenticates
// the caller, checks the method's scope and refuses new calls while the
// server drains; End() writes the call's log line (method, caller, its
// target fields, code, duration, the counters and the message) and records
// its metrics. A refused call is logged and counted by Begin() itself, so
// every call, refused or not, has exactly one line. Thread-compatible: the
// call's reactor uses it from one step at a time.
class CallScope {
 public:
  // The scope of an admitted call, or the status to finish a refused one
  // with (UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE while draining).
  // `target` names what the call is about (e.g. {"target", urn}).
  static absl::StatusOr<std::unique_ptr<CallScope>> Begin(const CallEnvironment& env,
                                                          const grpc::CallbackServerContext& context,
                                                          const MethodPolicy& policy,
                                                          LogFields target);
  const std::string& caller() const { return caller_; }
  absl::string_view method() const { return method_; }
  // The call's deadline; InfiniteFuture when the caller set none.
  absl::Time deadline() const { return deadline_; }

  // Adds `n` to the counter `name` of the log line (created at 0 on first
  // use; counters are logged in the order first used).
  void Count(absl::string_view name, int64_t n);
  // Sets a field of the log line (replacing one of the same name).
  void Set(absl::string_view name, LogValue value);

  // Logs the call and records its metrics. Only the first call does
  // anything.
  void End(const absl::Status& status);

 private:
  CallScope(const CallEnvironment& env, absl::string_view method, std::string caller,
            absl::Time deadline, LogFields target);

  const CallEnvironment env_;
  const std::string method_;
  const std::string caller_;
  const absl::Time deadline_;
  const absl::Time started_;
  LogFields fields_;  // Target fields, then counters and set fields.
  bool ended_ = false;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_GRPC_CALL_SCOPE_H_
