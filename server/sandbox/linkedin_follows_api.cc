#include "server/sandbox/linkedin_follows_api.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "server/sandbox/http_query.h"
#include "server/sandbox/linkedin_errors.h"

namespace followgate {
namespace sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxPaginationCount = 1000;

const std::vector<std::string>& FolloweeParams() {
  static const auto* const kNames = new std::vector<std::string>{
      "q", "followee", "edgeType", "maxPaginationCount", "paginationCursor"};
  return *kNames;
}

const std::vector<std::string>& FollowerParams() {
  static const auto* const kNames = new std::vector<std::string>{
      "q", "follower", "maxPaginationCount", "paginationCursor"};
  return *kNames;
}

// Rest.li rejects repeated and unknown query parameters.
absl::StatusOr<std::map<std::string, std::string>> UniqueParams(
    const QueryParams& query, const std::vector<std::string>& allowed) {
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : query) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Query parameter is not allowed: ", name));
    }
    if (!params.emplace(name, value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Query parameter is repeated: ", name));
    }
  }
  return params;
}

const std::string* FindParam(const std::map<std::string, std::string>& params,
                             const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

absl::StatusOr<int> ParseCount(const std::string* text) {
  if (text == nullptr) {
    return absl::InvalidArgumentError(
        "Missing required parameter: maxPaginationCount");
  }
  int count = 0;
  const bool digits_only = !text->empty() && text->size() <= 4 &&
                           std::all_of(text->begin(), text->end(), [](char c) {
                             return absl::ascii_isdigit(c);
                           });
  if (!digits_only || !absl::SimpleAtoi(*text, &count) || count < 1 ||
      count > kMaxPaginationCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "maxPaginationCount must be an integer in 1..", kMaxPaginationCount));
  }
  return count;
}

Json ElementJson(const FollowEdge& edge) {
  Json element;
  element["lastModifiedAt"] = edge.last_modified_ms;
  element["follower"] = edge.follower;
  element["followee"] = OrganizationalPageUrn(edge.followee_id);
  element["edgeType"] = std::string(EdgeTypeName(edge.edge_type));
  return element;
}

HttpReply JsonReply(const Json& body) {
  return HttpReply::Json(
      200, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

absl::optional<int> ParseLinkedInVersion(absl::string_view version) {
  const bool has_revision = version.size() == 9 && version[6] == '.';
  if (version.size() != 6 && !has_revision) return absl::nullopt;
  for (size_t i = 0; i < version.size(); ++i) {
    if (i == 6) continue;
    if (!absl::ascii_isdigit(static_cast<unsigned char>(version[i]))) {
      return absl::nullopt;
    }
  }
  int yyyymm = 0;
  if (!absl::SimpleAtoi(version.substr(0, 6), &yyyymm)) return absl::nullopt;
  const int month = yyyymm % 100;
  if (month < 1 || month > 12) return absl::nullopt;
  return yyyymm;
}

LinkedInFollowsApi::LinkedInFollowsApi(FollowDataset dataset,
                                       LinkedInFollowsApiOptions options)
    : dataset_(std::move(dataset)), options_(options) {}

HttpReply LinkedInFollowsApi::Handle(const HttpRequest& request) const {
  if (absl::optional<HttpReply> rejected = RejectHeaders(request)) {
    return *std::move(rejected);
  }
  if (request.path != kFollowsResourcePath) {
    return LinkedInError(404, 0, "NOT_FOUND", "No virtual resource found");
  }
  if (request.method != "GET") {
    return LinkedInError(405, 0, "METHOD_NOT_ALLOWED",
                         absl::StrCat("Method ", request.method,
                                      " is not allowed on this resource"));
  }
  return Find(request);
}

absl::optional<HttpReply> LinkedInFollowsApi::RejectHeaders(
    const HttpRequest& request) const {
  const std::string* version = request.FindHeader("LinkedIn-Version");
  if (version == nullptr || version->empty()) {
    return LinkedInError(400, 0, "VERSION_MISSING",
                         "A version must be present. Please specify a "
                         "version by adding the LinkedIn-Version header.");
  }
  const absl::optional<int> yyyymm = ParseLinkedInVersion(*version);
  if (!yyyymm.has_value()) {
    return LinkedInError(400, 0, "INVALID_VERSION",
                         absl::StrCat("Invalid version: ", *version));
  }
  if (*yyyymm < options_.oldest_version ||
      (options_.newest_version != 0 && *yyyymm > options_.newest_version)) {
    return LinkedInError(
        426, 0, "NONEXISTENT_VERSION",
        absl::StrCat("Requested version ", *version, " is not active"));
  }
  const std::string* protocol = request.FindHeader("X-Restli-Protocol-Version");
  if (protocol == nullptr || *protocol != "2.0.0") {
    return LinkedInBadRequest(
        "This resource requires the header X-Restli-Protocol-Version: 2.0.0");
  }
  return absl::nullopt;
}

HttpReply LinkedInFollowsApi::Find(const HttpRequest& request) const {
  absl::StatusOr<QueryParams> query = ParseQueryString(request.query);
  if (!query.ok()) {
    return LinkedInBadRequest(
        absl::StrCat("Malformed query string: ", query.status().message()));
  }
  std::string finder;
  for (const auto& [name, value] : *query) {
    if (name == "q") finder = value;
  }
  const bool by_followee = finder == "followee";
  if (!by_followee && finder != "follower") {
    return LinkedInBadRequest(
        finder.empty() ? "Missing required parameter: q"
                       : absl::StrCat("Unsupported finder: q=", finder));
  }
  absl::StatusOr<Params> params =
      UniqueParams(*query, by_followee ? FolloweeParams() : FollowerParams());
  if (!params.ok()) return LinkedInBadRequest(params.status().message());
  return by_followee ? FindByFollowee(*params) : FindByFollower(*params);
}

HttpReply LinkedInFollowsApi::FindByFollowee(const Params& params) const {
  const std::string* followee = FindParam(params, "followee");
  if (followee == nullptr) {
    return LinkedInBadRequest("Missing required parameter: followee");
  }
  const absl::optional<int64_t> page_id = ParseOrganizationalPageUrn(*followee);
  if (!page_id.has_value()) {
    return LinkedInBadRequest(absl::StrCat(
        "followee must be urn:li:organizationalPage:{id}, got ", *followee));
  }
  const std::string* edge_name = FindParam(params, "edgeType");
  if (edge_name == nullptr) {
    return LinkedInBadRequest("Missing required parameter: edgeType");
  }
  const absl::optional<EdgeType> edge_type = ParseEdgeType(*edge_name);
  if (!edge_type.has_value()) {
    return LinkedInBadRequest(
        absl::StrCat("Invalid value for edgeType: ", *edge_name));
  }
  absl::StatusOr<PageWindow> window = ReadWindow(
      params, QueryFingerprint(absl::StrCat("followee|", *page_id, "|",
                                            EdgeTypeName(*edge_type))));
  if (!window.ok()) return LinkedInBadRequest(window.status().message());
  const SeededPage* page = dataset_.FindPage(*page_id);
  if (page == nullptr) {
    return LinkedInError(404, 0, "NOT_FOUND",
                         absl::StrCat("Could not find entity: ",
                                      OrganizationalPageUrn(*page_id)));
  }
  return RenderPage(*window, FollowDataset::FollowerCount(*page, *edge_type),
                    [page, type = *edge_type](int64_t index) {
                      return FollowDataset::FollowerAt(*page, type, index);
                    });
}

HttpReply LinkedInFollowsApi::FindByFollower(const Params& params) const {
  const std::string* follower = FindParam(params, "follower");
  if (follower == nullptr) {
    return LinkedInBadRequest("Missing required parameter: follower");
  }
  if (!IsPersonUrn(*follower) &&
      !ParseOrganizationalPageUrn(*follower).has_value()) {
    return LinkedInBadRequest(
        absl::StrCat("follower must be urn:li:person:{id} or "
                     "urn:li:organizationalPage:{id}, got ",
                     *follower));
  }
  absl::StatusOr<PageWindow> window = ReadWindow(
      params, QueryFingerprint(absl::StrCat("follower|", *follower)));
  if (!window.ok()) return LinkedInBadRequest(window.status().message());
  const std::vector<FollowEdge> edges = dataset_.FolloweesOf(*follower);
  return RenderPage(
      *window, static_cast<int64_t>(edges.size()),
      [&edges](int64_t index) { return edges[static_cast<size_t>(index)]; });
}

absl::StatusOr<LinkedInFollowsApi::PageWindow> LinkedInFollowsApi::ReadWindow(
    const Params& params, uint64_t query_fingerprint) const {
  absl::StatusOr<int> count =
      ParseCount(FindParam(params, "maxPaginationCount"));
  if (!count.ok()) return count.status();
  PageWindow window;
  window.count = *count;
  window.position.query_fingerprint = query_fingerprint;
  const std::string* cursor = FindParam(params, "paginationCursor");
  if (cursor == nullptr) return window;
  const absl::optional<CursorState> state = DecodeCursor(*cursor);
  if (!state.has_value() || state->query_fingerprint != query_fingerprint) {
    return absl::InvalidArgumentError("Invalid pagination cursor");
  }
  window.position = *state;
  return window;
}

HttpReply LinkedInFollowsApi::RenderPage(
    const PageWindow& window, int64_t total,
    const std::function<FollowEdge(int64_t)>& edge_at) const {
  const int64_t start = window.position.offset;
  if (start > total) return LinkedInBadRequest("Invalid pagination cursor");
  const bool masked = options_.masked_every > 0 &&
                      window.position.page_number % options_.masked_every == 0;
  const int64_t wanted = masked ? (window.count + 1) / 2 : window.count;
  const int64_t shown = std::min(wanted, total - start);

  Json elements = Json::array();
  for (int64_t index = start; index < start + shown; ++index) {
    elements.push_back(ElementJson(edge_at(index)));
  }
  Json metadata = Json::object();
  if (start + shown < total) {
    CursorState next = window.position;
    next.offset = start + shown;
    next.page_number = window.position.page_number + 1;
    metadata["nextPaginationCursor"] = EncodeCursor(next);
  }
  Json body;
  body["paging"] = {{"start", start},
                    {"count", window.count},
                    {"links", Json::array()},
                    {"total", total}};
  body["metadata"] = std::move(metadata);
  body["elements"] = std::move(elements);
  return JsonReply(body);
}

}  // namespace sandbox
}  // namespace followgate
