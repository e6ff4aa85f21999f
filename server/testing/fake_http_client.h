// A scripted HttpClient for core tests.
#ifndef FOLLOWGATE_SERVER_TESTING_FAKE_HTTP_CLIENT_H_
#define FOLLOWGATE_SERVER_TESTING_FAKE_HTTP_CLIENT_H_

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/upstream/http_client.h"

namespace followgate {

// Answers requests from a script, in order, and checks that each request's
// URL is the one the script expects. An unexpected request fails the test
// (and answers INTERNAL); expectations that never came fail it in the
// destructor. Thread-safe.
class FakeHttpClient final : public HttpClient {
 public:
  struct Sent {
    HttpRequest request;  // `cancel` is cleared.
    absl::Time at;        // By the clock given to the constructor.
  };

  // `clock` (not owned, may be null) timestamps the requests.
  explicit FakeHttpClient(Clock* clock = nullptr) : clock_(clock) {}
  ~FakeHttpClient() override;

  // Expects a request to `url` and answers it with `response`.
  void Expect(std::string url, absl::StatusOr<HttpResponse> response);
  // Shorthand for a response with this status and body.
  void Expect(std::string url, int status, std::string body);

  // Answers requests once the script is used up (instead of failing).
  using Handler = std::function<absl::StatusOr<HttpResponse>(const HttpRequest&)>;
  void SetHandler(Handler handler);

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

  std::vector<Sent> sent() const;

 private:
  struct Expectation {
    std::string url;
    absl::StatusOr<HttpResponse> response;
  };
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::deque<Expectation> script_ ABSL_GUARDED_BY(mu_);
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_TESTING_FAKE_HTTP_CLIENT_H_
