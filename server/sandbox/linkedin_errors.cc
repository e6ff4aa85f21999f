#include "server/sandbox/linkedin_errors.h"

#include <string>

#include "nlohmann/json.hpp"

namespace followgate {
namespace sandbox {

HttpReply LinkedInError(int status, int service_error_code,
                        absl::string_view code, absl::string_view message) {
  nlohmann::ordered_json body;
  body["status"] = status;
  if (service_error_code != 0) body["serviceErrorCode"] = service_error_code;
  if (!code.empty()) body["code"] = std::string(code);
  body["message"] = std::string(message);
  return HttpReply::Json(
      status, body.dump(-1, ' ', false,
                        nlohmann::ordered_json::error_handler_t::replace));
}

HttpReply LinkedInBadRequest(absl::string_view message) {
  return LinkedInError(400, 0, "BAD_REQUEST", message);
}

HttpReply LinkedInThrottled() {
  return LinkedInError(
      429, 101, "TOO_MANY_REQUESTS",
      "Resource level throttle limit for calls to this resource is reached.");
}

HttpReply LinkedInErrorForStatus(int status) {
  switch (status) {
    case 400:
      return LinkedInBadRequest(
          "Invalid request. Please verify the API input.");
    case 401:
      return LinkedInError(401, 65602, "EXPIRED_ACCESS_TOKEN",
                           "The token used in the request has expired");
    case 403:
      return LinkedInError(403, 100, "ACCESS_DENIED",
                           "Not enough permissions to access: "
                           "dmaOrganizationalPageFollows.FINDER");
    case 404:
      return LinkedInError(404, 0, "NOT_FOUND", "Could not find entity");
    case 429:
      return LinkedInThrottled();
    case 500:
      return LinkedInError(500, 0, "INTERNAL_SERVER_ERROR",
                           "Internal Server Error");
    case 502:
      return LinkedInError(502, 0, "BAD_GATEWAY", "Bad Gateway");
    case 503:
      return LinkedInError(503, 0, "SERVICE_UNAVAILABLE",
                           "Service Unavailable");
    case 504:
      return LinkedInError(504, 0, "GATEWAY_TIMEOUT", "Gateway Timeout");
    default:
      return LinkedInError(status, 0, "", "Request failed");
  }
}

}  // namespace sandbox
}  // namespace followgate
