#include "server/grpc/call_scope.h"

#include <utility>

#include "server/base/metrics.h"
#include "server/grpc/call_identity.h"

namespace followgate {
namespace {

LogValue* FieldOf(LogFields& fields, absl::string_view name) {
  for (auto& [key, value] : fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

// Cancelled calls are the caller's choice, not a server problem.
absl::string_view LevelOf(const absl::Status& status) {
  return status.ok() || absl::IsCancelled(status) ? "INFO" : "WARNING";
}

}  // namespace

absl::StatusOr<std::unique_ptr<CallScope>> CallScope::Begin(
    const CallEnvironment& env, const grpc::CallbackServerContext& context,
    const MethodPolicy& policy, LogFields target) {
  absl::StatusOr<std::string> authorized = AuthorizeCall(env.auth, context, policy.scope);
  std::unique_ptr<CallScope> scope(new CallScope(env, policy.method, CallerForLog(authorized),
                                                 CallDeadline(context), std::move(target)));
  absl::Status refused = authorized.status();
  if (refused.ok() && env.tracker->draining()) refused = DrainingStatus(policy.how_to_continue);
  if (!refused.ok()) {
    scope->End(refused);
    return refused;
  }
  return scope;
}

CallScope::CallScope(const CallEnvironment& env, absl::string_view method, std::string caller,
                     absl::Time deadline, LogFields target)
    : env_(env),
      method_(method),
      caller_(std::move(caller)),
      deadline_(deadline),
      started_(env.clock->Now()),
      fields_(std::move(target)) {}

void CallScope::Count(absl::string_view name, int64_t n) {
  if (LogValue* value = FieldOf(fields_, name); value != nullptr) {
    if (int64_t* count = std::get_if<int64_t>(value); count != nullptr) *count += n;
    return;
  }
  fields_.emplace_back(std::string(name), n);
}

void CallScope::Set(absl::string_view name, LogValue value) {
  if (LogValue* existing = FieldOf(fields_, name); existing != nullptr) {
    *existing = std::move(value);
    return;
  }
  fields_.emplace_back(std::string(name), std::move(value));
}

void CallScope::End(const absl::Status& status) {
  if (ended_) return;
  ended_ = true;
  const absl::Duration elapsed = env_.clock->Now() - started_;
  const std::string code = absl::StatusCodeToString(status.code());
  Metrics::Get().RecordRpc(method_, code, CallerMetricLabel(env_.auth, caller_), elapsed);
  LogFields line = {{"method", method_}, {"caller", caller_}};
  for (auto& field : fields_) line.push_back(field);
  line.emplace_back("code", code);
  line.emplace_back("duration_ms", absl::ToDoubleMilliseconds(elapsed));
  line.emplace_back("message", std::string(status.message()));
  LogEvent(LevelOf(status), "rpc", line);
}

}  // namespace followgate
