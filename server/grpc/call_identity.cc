#include "server/grpc/call_identity.h"

#include <algorithm>

namespace followgate {
namespace {

std::string Header(const grpc::CallbackServerContext& context, const char* name) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(name);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), std::min<size_t>(it->second.size(), 4096));
}

std::string UnauthenticatedName(const grpc::CallbackServerContext& context) {
  std::string named = Header(context, "x-followgate-caller");
  if (!named.empty()) return named.substr(0, 64);
  std::string peer = context.peer();  // e.g. "ipv4:127.0.0.1:51234"
  const size_t colon = peer.rfind(':');
  if (colon != std::string::npos && peer.find(':') != colon) peer.resize(colon);
  return peer;
}

}  // namespace

absl::StatusOr<std::string> AuthorizeCall(const CallerAuth* auth,
                                          const grpc::CallbackServerContext& context,
                                          absl::string_view scope) {
  if (auth == nullptr || !auth->enabled()) return UnauthenticatedName(context);
  return auth->Authorize(Header(context, "authorization"), scope, "");
}

std::string CallerForLog(const absl::StatusOr<std::string>& authorized) {
  if (authorized.ok()) return *authorized;
  if (absl::IsUnauthenticated(authorized.status())) return "unauthenticated";
  return DeniedCallerName(authorized.status()).value_or("unknown");
}

std::string CallerMetricLabel(const CallerAuth* auth, const std::string& caller) {
  return auth != nullptr && auth->enabled() ? caller : "unauthenticated";
}

absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  return context.deadline() == std::chrono::system_clock::time_point::max()
             ? absl::InfiniteFuture()
             : absl::FromChrono(context.deadline());
}

}  // namespace followgate
