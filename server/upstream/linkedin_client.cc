#include "server/upstream/linkedin_client.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "server/base/error_details.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/base/status_macros.h"
#include "server/upstream/upstream_errors.h"
#include "server/upstream/urn.h"

namespace followgate {
namespace {

using nlohmann::json;

constexpr absl::string_view kMemberEdge = "MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE";
constexpr absl::string_view kPageEdge =
    "ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE";

const json* Member(const json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// Bounds on values from LinkedIn, checked before anything reaches a protobuf
// utility (TimeUtil aborts the process on an out-of-range time) or storage.
// Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
constexpr int64_t kMinTimestampMillis = -62135596800000;
constexpr int64_t kMaxTimestampMillis = 253402300799999;

absl::Status InvalidPage(absl::string_view why) {
  return LinkedInContractError(LinkedInContractBreach::kInvalidPage, why);
}

absl::Status CheckLength(const std::string& value, size_t max, absl::string_view what) {
  if (value.size() <= max) return absl::OkStatus();
  return InvalidPage(absl::StrCat(what, " is ", value.size(), " characters long (at most ", max,
                                  " expected)"));
}

absl::Status ParseEdge(const json& element, const FollowerClassifier& classifier,
                       v1::FollowEdge* edge) {
  if (!element.is_object()) return LinkedInMalformedBody("element is not an object");
  const json* follower = Member(element, "follower");
  const json* followee = Member(element, "followee");
  const json* edge_type = Member(element, "edgeType");
  const json* modified = Member(element, "lastModifiedAt");
  if (follower == nullptr || !follower->is_string()) {
    return LinkedInMalformedBody("element without a string follower");
  }
  if (followee != nullptr && !followee->is_string()) {
    return LinkedInMalformedBody("followee is not a string");
  }
  if (edge_type != nullptr && !edge_type->is_string()) {
    return LinkedInMalformedBody("edgeType is not a string");
  }
  if (modified != nullptr && !modified->is_number_integer()) {
    return LinkedInMalformedBody("lastModifiedAt is not an integer");
  }
  const std::string& follower_urn = follower->get_ref<const std::string&>();
  FG_RETURN_IF_ERROR(CheckLength(follower_urn, kMaxUpstreamUrnLength, "a follower URN"));
  if (followee != nullptr) {
    FG_RETURN_IF_ERROR(CheckLength(followee->get_ref<const std::string&>(),
                                   kMaxUpstreamUrnLength, "a followee URN"));
  }
  if (edge_type != nullptr) {
    FG_RETURN_IF_ERROR(CheckLength(edge_type->get_ref<const std::string&>(),
                                   kMaxUpstreamUrnLength, "an edgeType"));
  }
  int64_t modified_ms = 0;
  if (modified != nullptr) {
    // An unsigned value beyond INT64_MAX would wrap in get<int64_t>().
    if (modified->is_number_unsigned() &&
        modified->get<uint64_t>() > static_cast<uint64_t>(kMaxTimestampMillis)) {
      return InvalidPage(absl::StrCat("lastModifiedAt ", modified->get<uint64_t>(),
                                      " is outside years 1 to 9999 (epoch milliseconds "
                                      "expected)"));
    }
    modified_ms = modified->get<int64_t>();
    if (modified_ms < kMinTimestampMillis || modified_ms > kMaxTimestampMillis) {
      return InvalidPage(absl::StrCat("lastModifiedAt ", modified_ms,
                                      " is outside years 1 to 9999 (epoch milliseconds expected)"));
    }
  }
  edge->mutable_follower()->set_urn(follower_urn);
  edge->mutable_follower()->set_kind(classifier.Classify(follower_urn));
  if (followee != nullptr) edge->set_followee(followee->get<std::string>());
  if (edge_type != nullptr) {
    edge->set_edge_type(EdgeTypeFromName(edge_type->get<std::string>()));
  }
  if (modified != nullptr) {
    *edge->mutable_last_modified_time() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(modified_ms);
  }
  return absl::OkStatus();
}

}  // namespace

std::string PercentEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

absl::string_view EdgeTypeName(v1::FollowEdgeType type) {
  switch (type) {
    case v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE:
      return kMemberEdge;
    case v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE:
      return kPageEdge;
    default:
      return "";
  }
}

v1::FollowEdgeType EdgeTypeFromName(absl::string_view name) {
  if (name == kMemberEdge) return v1::FOLLOW_EDGE_TYPE_MEMBER_FOLLOWS_ORGANIZATIONAL_PAGE;
  if (name == kPageEdge) {
    return v1::FOLLOW_EDGE_TYPE_ORGANIZATIONAL_PAGE_FOLLOWS_ORGANIZATIONAL_PAGE;
  }
  return v1::FOLLOW_EDGE_TYPE_UNSPECIFIED;
}

absl::StatusOr<FollowsPage> ParseFollowsPage(absl::string_view body,
                                             const FollowerClassifier& classifier) {
  const json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return LinkedInMalformedBody("not valid JSON");
  if (!root.is_object()) return LinkedInMalformedBody("not a JSON object");
  const json* elements = Member(root, "elements");
  if (elements == nullptr || !elements->is_array()) {
    return LinkedInMalformedBody("no elements array");
  }
  if (elements->size() > static_cast<size_t>(kMaxPaginationCount)) {
    return LinkedInContractError(
        LinkedInContractBreach::kPageTooLarge,
        absl::StrCat("a page holds ", elements->size(), " elements (maxPaginationCount=",
                     kMaxPaginationCount, " was requested)"));
  }
  FollowsPage page;
  page.edges.Reserve(static_cast<int>(elements->size()));
  for (const json& element : *elements) {
    FG_RETURN_IF_ERROR(ParseEdge(element, classifier, page.edges.Add()));
  }
  if (const json* metadata = Member(root, "metadata"); metadata != nullptr) {
    if (!metadata->is_object()) return LinkedInMalformedBody("metadata is not an object");
    if (const json* cursor = Member(*metadata, "nextPaginationCursor");
        cursor != nullptr && !cursor->is_null()) {
      if (!cursor->is_string()) {
        return LinkedInMalformedBody("nextPaginationCursor is not a string");
      }
      page.next_cursor = cursor->get<std::string>();
      FG_RETURN_IF_ERROR(
          CheckLength(page.next_cursor, kMaxUpstreamCursorLength, "nextPaginationCursor"));
    }
  }
  if (const json* paging = Member(root, "paging");
      paging != nullptr && paging->is_object()) {
    if (const json* total = Member(*paging, "total");
        total != nullptr && total->is_number_integer()) {
      if (total->is_number_unsigned() &&
          total->get<uint64_t>() > static_cast<uint64_t>(kMaxUpstreamTotal)) {
        return InvalidPage("paging.total is absurdly large");
      }
      const int64_t value = total->get<int64_t>();
      if (value < 0 || value > kMaxUpstreamTotal) {
        return InvalidPage(absl::StrCat("paging.total ", value, " is outside 0 to ",
                                        kMaxUpstreamTotal));
      }
      page.total = value;
    }
  }
  return page;
}

LinkedInClient::LinkedInClient(HttpClient* http, Clock* clock,
                               LinkedInClientOptions options)
    : http_(http), clock_(clock), options_(std::move(options)) {}

std::string LinkedInClient::RequestUrl(const FollowsQuery& query,
                                       absl::string_view cursor) const {
  std::string url = absl::StrCat(options_.base_url, "/rest/dmaOrganizationalPageFollows");
  if (query.finder == FollowsQuery::Finder::kFollowee) {
    absl::StrAppend(&url, "?q=followee&followee=", PercentEncode(query.urn),
                    "&edgeType=", EdgeTypeName(query.edge_type));
  } else {
    absl::StrAppend(&url, "?q=follower&follower=", PercentEncode(query.urn));
  }
  absl::StrAppend(&url, "&maxPaginationCount=", kMaxPaginationCount);
  if (!cursor.empty()) {
    absl::StrAppend(&url, "&paginationCursor=", PercentEncode(cursor));
  }
  return url;
}

int64_t LinkedInClient::token_generation() const {
  return options_.token_source != nullptr ? options_.token_source->Current().generation : 0;
}

bool LinkedInClient::TokenRotatedSince(int64_t used) const {
  return options_.token_source != nullptr && options_.token_source->RereadAfterRejection(used);
}

absl::Status LinkedInClient::NamingCredential(absl::Status error) const {
  absl::Status named(error.code(), absl::StrCat("LinkedIn credential \"",
                                                options_.credential_name,
                                                "\": ", error.message()));
  error.ForEachPayload([&named](absl::string_view type_url, const absl::Cord& payload) {
    named.SetPayload(type_url, payload);
  });
  return WithErrorMetadata(std::move(named), "credential", options_.credential_name);
}

absl::StatusOr<FollowsPage> LinkedInClient::FetchPage(
    const FollowsQuery& query, absl::string_view cursor,
    const CancellationToken* cancel) const {
  HttpRequest request;
  request.url = RequestUrl(query, cursor);
  request.headers = {
      {"Authorization",
       absl::StrCat("Bearer ", options_.token_source != nullptr
                                   ? options_.token_source->Current().secret
                                   : options_.access_token)},
      {"LinkedIn-Version", options_.version},
      {"X-Restli-Protocol-Version", "2.0.0"},
      {"Accept", "application/json"},
  };
  request.timeout = options_.request_timeout;
  request.cancel = cancel;
  request.upstream = "linkedin";
  request.log_fields = {
      {"finder", query.finder == FollowsQuery::Finder::kFollowee ? "followee" : "follower"},
      {"urn", query.urn},
      {"edge_type", std::string(EdgeTypeName(query.edge_type))},
      {"first_page", cursor.empty()}};
  const absl::Time started = clock_->Now();
  absl::StatusOr<HttpResponse> response = http_->Send(request);
  if (!response.ok()) return LinkedInTransportError(response.status());
  if (response->status_code < 200 || response->status_code > 299) {
    absl::Status error = LinkedInHttpError(response->status_code, response->body);
    if (response->status_code == 401) return NamingCredential(std::move(error));
    if (response->status_code != 429) return error;
    Metrics::Get().RecordThrottled("linkedin");
    // Undocumented for LinkedIn, but honoured when sent (see FollowsFetcher).
    const std::optional<absl::Duration> retry_after =
        RetryAfterHeader(response->Header("Retry-After"), response->Header("X-RateLimit-Reset"),
                         clock_->Now(), kMaxHonouredRetryAfter);
    return retry_after.has_value() ? WithRetryDelay(std::move(error), *retry_after) : error;
  }
  FG_ASSIGN_OR_RETURN(FollowsPage page,
                      ParseFollowsPage(response->body, options_.classifier));
  page.fetch_time = started;
  return page;
}

}  // namespace followgate
