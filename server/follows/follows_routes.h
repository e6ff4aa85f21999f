// Which fetcher (and so which LinkedIn credential) and which budget serve a
// follows query.
#ifndef FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_ROUTES_H_
#define FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_ROUTES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/follows/follows_fetcher.h"
#include "server/follows/upstream_budget.h"
#include "server/upstream/follows_query.h"
#include "server/upstream/linkedin_credentials.h"

namespace followgate {

struct FollowsRoute {
  const FollowsFetcher* fetcher = nullptr;  // Fetches with the credential's token...
  UpstreamBudget* budget = nullptr;         // ...through the budget it spends.
  std::string credential;
};

class FollowsRoutes {
 public:
  virtual ~FollowsRoutes() = default;
  // FAILED_PRECONDITION (LINKEDIN_NO_CREDENTIAL) when nothing serves `query`.
  virtual absl::StatusOr<FollowsRoute> RouteFor(const FollowsQuery& query) const = 0;
};

// Every query to one fetcher and budget (one credential). Not owned.
class SingleRoute final : public FollowsRoutes {
 public:
  SingleRoute(const FollowsFetcher* fetcher, UpstreamBudget* budget,
              std::string credential = kDefaultCredentialName)
      : route_{fetcher, budget, std::move(credential)} {}
  absl::StatusOr<FollowsRoute> RouteFor(const FollowsQuery&) const override { return route_; }

 private:
  const FollowsRoute route_;
};

// Several credentials (--linkedin_credentials_file): `routes[i]` is the
// route of credential i of those the router was made from. Its fetchers and
// budgets are not owned.
class CredentialRoutes final : public FollowsRoutes {
 public:
  CredentialRoutes(CredentialRouter router, std::vector<FollowsRoute> routes)
      : router_(std::move(router)), routes_(std::move(routes)) {}
  absl::StatusOr<FollowsRoute> RouteFor(const FollowsQuery& query) const override {
    absl::StatusOr<int> index = router_.Route(query);
    if (!index.ok()) return index.status();
    return routes_.at(static_cast<size_t>(*index));
  }

 private:
  const CredentialRouter router_;
  const std::vector<FollowsRoute> routes_;
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_FOLLOWS_FOLLOWS_ROUTES_H_
