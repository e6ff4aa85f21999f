#include "server/sandbox/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/sandbox/http_request_parser.h"

namespace followgate {
namespace sandbox {
namespace {

constexpr absl::string_view kHeadTerminator = "\r\n\r\n";
constexpr size_t kMaxDrainBytes = 1 << 20;

absl::Status ErrnoError(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// Header names the server writes itself.
bool IsFramingHeader(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Connection") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding");
}

// Keeps handler-supplied text from splitting the response.
std::string WithoutLineBreaks(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}});
}

std::string SerializeHead(const HttpReply& reply, bool keep_alive) {
  std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " ",
                                  ReasonPhrase(reply.status), "\r\n");
  for (const HttpHeader& header : reply.headers) {
    if (IsFramingHeader(header.name)) continue;
    absl::StrAppend(&head, WithoutLineBreaks(header.name), ": ",
                    WithoutLineBreaks(header.value), "\r\n");
  }
  absl::StrAppend(&head, "Content-Length: ", reply.body.size(), "\r\n",
                  "Connection: ", keep_alive ? "keep-alive" : "close",
                  "\r\n\r\n");
  return head;
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

// Appends whatever the peer sends next. False on EOF, error or idle timeout.
bool ReceiveSome(int fd, std::string* buffer) {
  char chunk[16 * 1024];
  ssize_t received;
  do {
    received = recv(fd, chunk, sizeof(chunk), 0);
  } while (received < 0 && errno == EINTR);
  if (received <= 0) return false;
  buffer->append(chunk, static_cast<size_t>(received));
  return true;
}

enum class HeadRead { kComplete, kClosed, kTooLarge };

// Reads until `buffer` holds a complete request head; *head_size then covers
// the head and its terminating empty line. Empty lines before a request are
// skipped, as RFC 9112 asks.
HeadRead ReadHead(int fd, size_t max_bytes, std::string* buffer,
                  size_t* head_size) {
  size_t searched = 0;
  while (true) {
    size_t blank = 0;
    while (buffer->compare(blank, 2, "\r\n") == 0) blank += 2;
    if (blank > 0) {
      buffer->erase(0, blank);
      searched = 0;
    }
    const size_t end = buffer->find(kHeadTerminator.data(),
                                    searched > 3 ? searched - 3 : 0, 4);
    if (end != std::string::npos) {
      *head_size = end + kHeadTerminator.size();
      return *head_size > max_bytes ? HeadRead::kTooLarge : HeadRead::kComplete;
    }
    if (buffer->size() > max_bytes) return HeadRead::kTooLarge;
    searched = buffer->size();
    if (!ReceiveSome(fd, buffer)) return HeadRead::kClosed;
  }
}

bool ReadAtLeast(int fd, size_t size, std::string* buffer) {
  while (buffer->size() < size) {
    if (!ReceiveSome(fd, buffer)) return false;
  }
  return true;
}

// Answers a request the server itself rejects, then the caller closes.
void SendError(int fd, int status, absl::string_view message) {
  HttpReply reply;
  reply.status = status;
  reply.headers.push_back({"Content-Type", "text/plain"});
  reply.body = absl::StrCat(message, "\n");
  SendAll(fd, SerializeHead(reply, /*keep_alive=*/false) + reply.body);
  // Closing with unread request bytes pending would reset the connection and
  // could destroy the error response before the client reads it. Read (and
  // drop) what the client is still sending first, within limits.
  shutdown(fd, SHUT_WR);
  const timeval drain_timeout = absl::ToTimeval(absl::Seconds(1));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &drain_timeout,
             sizeof(drain_timeout));
  std::string discarded;
  while (discarded.size() < kMaxDrainBytes && ReceiveSome(fd, &discarded)) {
  }
}

bool ExpectsContinue(const HttpRequest& request) {
  const std::string* expect = request.FindHeader("Expect");
  return expect != nullptr && absl::EqualsIgnoreCase(*expect, "100-continue");
}

void ConfigureConnection(int fd, absl::Duration idle_timeout) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const timeval timeout = absl::ToTimeval(idle_timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

absl::StatusOr<int> BindLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const absl::Status error =
        ErrnoError(absl::StrCat("bind 127.0.0.1:", port));
    close(fd);
    return error;
  }
  if (listen(fd, SOMAXCONN) != 0) {
    const absl::Status error = ErrnoError("listen");
    close(fd);
    return error;
  }
  return fd;
}

absl::StatusOr<int> BoundPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return ErrnoError("getsockname");
  }
  return ntohs(address.sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be in 0..65535, got ", options.port));
  }
  if (!handler) return absl::InvalidArgumentError("handler must be set");
  absl::StatusOr<int> listen_fd = BindLoopback(options.port);
  if (!listen_fd.ok()) return listen_fd.status();
  absl::StatusOr<int> port = BoundPort(*listen_fd);
  int wake[2];
  if (!port.ok() || pipe2(wake, O_CLOEXEC) != 0) {
    const absl::Status error = port.ok() ? ErrnoError("pipe") : port.status();
    close(*listen_fd);
    return error;
  }
  std::unique_ptr<HttpServer> server(new HttpServer(
      options, std::move(handler), *listen_fd, wake[0], wake[1], *port));
  server->accept_thread_ =
      std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

HttpServer::HttpServer(const HttpServerOptions& options, HttpHandler handler,
                       int listen_fd, int wake_read_fd, int wake_write_fd,
                       int port)
    : options_(options),
      handler_(std::move(handler)),
      listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      port_(port) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const std::unique_ptr<Connection>& connection : connections_) {
      if (connection->fd >= 0) shutdown(connection->fd, SHUT_RDWR);
    }
  }
  const char wake_byte = 0;
  while (write(wake_write_fd_, &wake_byte, 1) < 0 && errno == EINTR) {
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    absl::MutexLock lock(&mu_);
    connections.swap(connections_);
  }
  for (const std::unique_ptr<Connection>& connection : connections) {
    connection->thread.join();
  }
  close(listen_fd_);
  close(wake_read_fd_);
  close(wake_write_fd_);
}

void HttpServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or memory: back off instead of spinning.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      continue;
    }
    ConfigureConnection(fd, options_.idle_timeout);
    StartConnection(fd);
  }
}

void HttpServer::StartConnection(int fd) {
  std::vector<std::unique_ptr<Connection>> finished;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    finished = TakeFinishedLocked();
    connections_.push_back(std::make_unique<Connection>());
    Connection* connection = connections_.back().get();
    connection->fd = fd;
    connection->thread =
        std::thread([this, connection] { ServeConnection(connection); });
  }
  for (const std::unique_ptr<Connection>& connection : finished) {
    connection->thread.join();
  }
}

std::vector<std::unique_ptr<HttpServer::Connection>>
HttpServer::TakeFinishedLocked() {
  std::vector<std::unique_ptr<Connection>> finished;
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->finished) {
      finished.push_back(std::move(*it));
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  return finished;
}

void HttpServer::ServeConnection(Connection* connection) {
  // Only this thread changes connection->fd, so reading it unlocked is safe.
  const int fd = connection->fd;
  std::string buffer;
  bool abortive = false;
  while (ServeOneRequest(fd, &buffer, &abortive)) {
  }
  CloseConnection(connection, abortive);
}

bool HttpServer::ServeOneRequest(int fd, std::string* buffer, bool* abortive) {
  size_t head_size = 0;
  switch (ReadHead(fd, options_.max_head_bytes, buffer, &head_size)) {
    case HeadRead::kClosed:
      return false;
    case HeadRead::kTooLarge:
      SendError(fd, 431, "request head too large");
      return false;
    case HeadRead::kComplete:
      break;
  }
  absl::StatusOr<HttpRequest> request = ParseRequestHead(
      absl::string_view(*buffer).substr(0, head_size - kHeadTerminator.size()));
  buffer->erase(0, head_size);
  if (!request.ok()) {
    SendError(fd, HttpStatusForParseError(request.status()),
              request.status().message());
    return false;
  }
  const absl::StatusOr<size_t> body_length = RequestBodyLength(*request);
  if (!body_length.ok()) {
    SendError(fd, HttpStatusForParseError(body_length.status()),
              body_length.status().message());
    return false;
  }
  if (*body_length > options_.max_body_bytes) {
    SendError(fd, 413, "request body too large");
    return false;
  }
  if (buffer->size() < *body_length && ExpectsContinue(*request) &&
      !SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return false;
  }
  if (!ReadAtLeast(fd, *body_length, buffer)) return false;
  request->body = buffer->substr(0, *body_length);
  buffer->erase(0, *body_length);
  request->arrival_time = absl::Now();
  const bool keep_alive = WantsKeepAlive(*request);
  const HttpReply reply = handler_(*request);
  return Deliver(fd, reply, keep_alive, abortive);
}

bool HttpServer::Deliver(int fd, const HttpReply& reply, bool keep_alive,
                         bool* abortive) {
  if (reply.delay > absl::ZeroDuration() && WaitUnlessStopping(reply.delay)) {
    return false;
  }
  switch (reply.fault) {
    case HttpFault::kReset:
      *abortive = true;
      return false;
    case HttpFault::kTruncate: {
      const absl::string_view body = reply.body;
      SendAll(fd, absl::StrCat(SerializeHead(reply, /*keep_alive=*/false),
                               body.substr(0, body.size() / 2)));
      return false;
    }
    case HttpFault::kNone:
      break;
  }
  return SendAll(fd, SerializeHead(reply, keep_alive) + reply.body) &&
         keep_alive;
}

bool HttpServer::WaitUnlessStopping(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
}

void HttpServer::CloseConnection(Connection* connection, bool abortive) {
  absl::MutexLock lock(&mu_);
  if (abortive) {
    const linger reset{/*l_onoff=*/1, /*l_linger=*/0};
    setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  close(connection->fd);
  connection->fd = -1;
  connection->finished = true;
}

}  // namespace sandbox
}  // namespace followgate
