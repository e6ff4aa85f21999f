// A minimal HTTP/1.1 server on raw POSIX sockets, bound to 127.0.0.1, for
// emulating upstream APIs in tests and local runs. Unlike a general-purpose
// library it can misbehave on purpose: a reply may be truncated mid-body,
// turned into a connection reset, or delayed (see HttpReply).
//
// One accept thread plus one thread per connection; keep-alive with
// "Connection: close" honoured; bodies framed by Content-Length only
// (Transfer-Encoding is answered with 501); pipelined requests are answered
// in order. Malformed requests get 400/413/431/501/505 and the connection is
// closed.
//
// Thread-safety: all methods are thread-safe. The handler is called
// concurrently from connection threads and must be thread-safe; it is copied
// into the server and must stay callable until Stop() returns (Stop() joins
// every thread that can call it).

#ifndef FOLLOWGATE_SERVER_SANDBOX_HTTP_SERVER_H_
#define FOLLOWGATE_SERVER_SANDBOX_HTTP_SERVER_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/sandbox/http_message.h"

namespace followgate {
namespace sandbox {

struct HttpServerOptions {
  // TCP port on 127.0.0.1; 0 picks a free ephemeral port.
  int port = 0;
  // Largest accepted request head (request line + headers); above: 431.
  size_t max_head_bytes = 64 * 1024;
  // Largest accepted body; above: 413.
  size_t max_body_bytes = 16 * 1024 * 1024;
  // An idle keep-alive connection is closed after this long.
  absl::Duration idle_timeout = absl::Minutes(5);
};

class HttpServer {
 public:
  // Binds, listens and starts the accept thread. Errors: InvalidArgument for
  // a port outside 0..65535 or a null handler, Unavailable when the socket
  // cannot be bound (for example the port is taken).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops the server (see Stop()).
  ~HttpServer();

  // The bound port (the real one when options.port was 0).
  int port() const { return port_; }

  // Closes the listener and every open connection, ends pending reply delays
  // early and joins all threads. Replies being written are cut off.
  // Idempotent; safe to call concurrently.
  void Stop();

 private:
  struct Connection {
    int fd = -1;  // -1 once closed. Guarded by HttpServer::mu_.
    bool finished = false;
    std::thread thread;
  };

  HttpServer(const HttpServerOptions& options, HttpHandler handler,
             int listen_fd, int wake_read_fd, int wake_write_fd, int port);

  void AcceptLoop();
  void StartConnection(int fd);
  std::vector<std::unique_ptr<Connection>> TakeFinishedLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ServeConnection(Connection* connection);
  // Reads, handles and answers one request. Returns whether the connection
  // stays open; sets *abortive when it must be reset rather than closed.
  bool ServeOneRequest(int fd, std::string* buffer, bool* abortive);
  bool Deliver(int fd, const HttpReply& reply, bool keep_alive, bool* abortive);
  // Waits `delay`; returns true (early) if the server is stopping.
  bool WaitUnlessStopping(absl::Duration delay);
  void CloseConnection(Connection* connection, bool abortive);

  const HttpServerOptions options_;
  const HttpHandler handler_;
  const int listen_fd_;
  const int wake_read_fd_;  // Readable once Stop() begins.
  const int wake_write_fd_;
  const int port_;
  std::thread accept_thread_;

  absl::Mutex stop_mu_;  // Serialises Stop().
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::unique_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sandbox
}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_SANDBOX_HTTP_SERVER_H_
