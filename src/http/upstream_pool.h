#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.h"
#include "http/deadlines.h"
#include "http/executor.h"
#include "http/message_reader.h"
#include "http/send_batch.h"

namespace tollgate {

// kOverflow: every connection to the backend was busy and too many requests
// were already waiting for one.
enum class UpstreamError { kNone, kUnreachable, kTimeout, kBadResponse, kOverflow };

// What to send upstream: the request head as text and the body.
struct UpstreamRequest {
  std::string_view head;
  std::string_view body;
  bool idempotent = false;   // may be sent again on a fresh connection
  bool head_method = false;  // the answer has no body whatever its framing says
};

// One worker's keep-alive connections to its backends, keyed by host:port.
// Belongs to one io_context thread; not thread-safe. It must outlive the
// io_context's coroutines: a request's frame gives its connection back when
// destroyed.
//
// Connections to one backend are capped, as a flood of clients must not
// become a flood of connections the backend refuses: a request finding
// every connection busy waits for one to be given back (within its own
// timeout), and past a bounded queue it is refused at once.
class UpstreamPool {
 public:
  struct Limits {
    std::size_t idle_per_backend = 64;
    std::uint32_t max_per_backend = 256;  // open, busy or idle
    std::uint32_t max_waiting_per_backend = 128;
    std::uint64_t response_body_limit = 64 * 1024 * 1024;
    std::uint32_t response_header_limit = 64 * 1024;
  };

  UpstreamPool(Executor executor, Deadlines& deadlines)
      : UpstreamPool(executor, deadlines, Limits{}) {}
  // With `sends`, requests go to backends with the worker's other sends of
  // a turn (http/send_batch.h).
  UpstreamPool(Executor executor, Deadlines& deadlines, Limits limits, SendBatch* sends = nullptr);
  ~UpstreamPool();

  // Sends `request` to `backend` and reads the final response into
  // `response`, all within `timeout` (waiting for a connection included). A
  // reused connection found closed before any answer is retried once on a
  // new one if the request is idempotent.
  Task<UpstreamError> exchange(const Backend& backend, const UpstreamRequest& request,
                               InboundMessage& response, std::chrono::milliseconds timeout);

  // Closes every idle connection: their sockets must not outlive the
  // io_context. Busy ones are closed as their requests end.
  void close_idle();

  // Idle connections held; readable from any thread.
  std::size_t idle_count() const { return idle_total_.load(std::memory_order_relaxed); }

 private:
  struct Connection {
    Connection(Executor executor, Deadlines& deadlines)
        : socket(executor), deadline(deadlines, socket) {}
    Socket socket;
    Deadlines::Entry deadline;
    beast::flat_buffer buffer;
  };
  using ConnectionPtr = std::unique_ptr<Connection>;
  using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                           asio::wait_traits<std::chrono::steady_clock>, Executor>;

  struct Host;

  // A request waiting for a connection: woken with one handed over, or with
  // leave to open one.
  struct Waiter {
    Waiter(Executor executor, Host& host) : timer(executor), host(host) {}
    ~Waiter();  // leaves the queue if still in it (its coroutine destroyed)
    Timer timer;
    Host& host;
    ConnectionPtr handed;
    bool may_open = false;
    bool queued = false;
  };

  struct Host {
    std::vector<ConnectionPtr> idle;
    std::uint32_t open = 0;       // busy, idle, or being opened
    std::deque<Waiter*> waiting;  // oldest first
  };

  class Lease;

  Task<ConnectionPtr> connect(const Backend& backend, Deadlines::Clock::time_point deadline,
                              UpstreamError& error);
  Host& host_for(const Backend& backend);
  ConnectionPtr take_idle(Host& host);
  // Waits until a connection is handed over (returned) or one may be opened
  // (null, `error` kNone), or fails with kTimeout or kOverflow.
  Task<ConnectionPtr> wait_for_connection(Host& host, Deadlines::Clock::time_point deadline,
                                          UpstreamError& error);
  // Takes back the connection (or the place for one) a request is done
  // with: reused when `reusable` (handed to the oldest waiter, else kept
  // idle), else closed and its place passed to the oldest waiter.
  void give_back(Host& host, ConnectionPtr c, bool reusable);

  Executor executor_;
  Deadlines& deadlines_;
  Limits limits_;
  SendBatch* sends_;
  Resolver resolver_;
  std::unordered_map<std::string, Host> hosts_;  // never erased: requests hold references
  std::string_view last_host_name_;              // a key of hosts_
  Host* last_host_ = nullptr;
  std::atomic<std::size_t> idle_total_{0};
};

}  // namespace tollgate
