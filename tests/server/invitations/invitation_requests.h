// Requests for the invitation tests: numbered profile URNs and a
// SendInvitationsRequest for the test company.
#ifndef FOLLOWGATE_TESTS_SERVER_INVITATIONS_INVITATION_REQUESTS_H_
#define FOLLOWGATE_TESTS_SERVER_INVITATIONS_INVITATION_REQUESTS_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "followgate/v1/invitations.pb.h"

namespace followgate::testing {

// The company the invitation tests invite to follow.
inline constexpr char kInvitationCompany[] = "105672170";

// Profile URN number `i`: `urn:li:fsd_profile:ACoA<i>`.
inline std::string Profile(int i) { return absl::StrCat("urn:li:fsd_profile:ACoA", i); }

// `count` profile URNs from number `first`.
inline std::vector<std::string> Profiles(int first, int count) {
  std::vector<std::string> urns;
  for (int i = first; i < first + count; ++i) urns.push_back(Profile(i));
  return urns;
}

// A request for kInvitationCompany inviting `urns`.
inline v1::SendInvitationsRequest Request(const std::string& request_id,
                                          const std::vector<std::string>& urns) {
  v1::SendInvitationsRequest request;
  request.set_company_id(kInvitationCompany);
  request.set_request_id(request_id);
  for (const auto& urn : urns) request.add_profile_urns(urn);
  return request;
}

}  // namespace followgate::testing

#endif  // FOLLOWGATE_TESTS_SERVER_INVITATIONS_INVITATION_REQUESTS_H_
