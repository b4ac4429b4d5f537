#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.h"
#include "http/deadlines.h"
#include "http/executor.h"
#include "http/message_reader.h"

namespace tollgate {

enum class UpstreamError { kNone, kUnreachable, kTimeout, kBadResponse };

// What to send upstream: the request head as text and the body.
struct UpstreamRequest {
  std::string_view head;
  std::string_view body;
  bool idempotent = false;  // may be sent again on a fresh connection
  bool head_method = false;  // the answer has no body whatever its framing says
};

// One worker's keep-alive connections to its backends, keyed by host:port.
// Belongs to one io_context thread; not thread-safe.
class UpstreamPool {
 public:
  struct Limits {
    std::size_t idle_per_backend = 64;
    std::uint64_t response_body_limit = 64 * 1024 * 1024;
    std::uint32_t response_header_limit = 64 * 1024;
  };

  UpstreamPool(Executor executor, Deadlines& deadlines) : UpstreamPool(executor, deadlines, Limits{}) {}
  UpstreamPool(Executor executor, Deadlines& deadlines, Limits limits);
  ~UpstreamPool();

  // Sends `request` to `backend` and reads the final response into
  // `response`, all within `timeout`. A reused connection found closed
  // before any answer is retried once on a new one if the request is
  // idempotent.
  Task<UpstreamError> exchange(const Backend& backend, const UpstreamRequest& request, InboundMessage& response,
                               std::chrono::milliseconds timeout);

  // Idle connections held; readable from any thread.
  std::size_t idle_count() const { return idle_total_.load(std::memory_order_relaxed); }

 private:
  struct Connection {
    Connection(Executor executor, Deadlines& deadlines) : socket(executor), deadline(deadlines, socket) {}
    Socket socket;
    Deadlines::Entry deadline;
    beast::flat_buffer buffer;
  };
  using ConnectionPtr = std::unique_ptr<Connection>;

  Task<ConnectionPtr> connect(const Backend& backend, Deadlines::Clock::time_point deadline, UpstreamError& error);
  ConnectionPtr take_idle(const std::string& key);
  void put_idle(const std::string& key, ConnectionPtr c);

  Executor executor_;
  Deadlines& deadlines_;
  Limits limits_;
  Resolver resolver_;
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle_;
  std::atomic<std::size_t> idle_total_{0};
};

}  // namespace tollgate
