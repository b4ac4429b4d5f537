#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.h"
#include "http/beast.h"

namespace tollgate {

enum class UpstreamError { kNone, kUnreachable, kTimeout, kBadResponse };

struct UpstreamResult {
  UpstreamError error = UpstreamError::kNone;
  HttpResponse response;
};

// One worker's keep-alive connections to its backends, keyed by host:port.
// Belongs to one io_context thread; not thread-safe.
class UpstreamPool {
 public:
  struct Limits {
    std::size_t idle_per_backend = 64;
    std::uint64_t response_body_limit = 64 * 1024 * 1024;
  };

  explicit UpstreamPool(asio::any_io_executor executor) : UpstreamPool(std::move(executor), Limits{}) {}
  UpstreamPool(asio::any_io_executor executor, Limits limits);

  // Sends `request` to `backend` and reads the response, all within `timeout`.
  // A reused connection that turns out closed is retried once on a new one.
  asio::awaitable<UpstreamResult> exchange(const Backend& backend, HttpRequest& request,
                                           std::chrono::milliseconds timeout);

  // Idle connections held; readable from any thread.
  std::size_t idle_count() const { return idle_total_.load(std::memory_order_relaxed); }

 private:
  struct Connection {
    explicit Connection(asio::any_io_executor ex) : stream(std::move(ex)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
  };
  using ConnectionPtr = std::unique_ptr<Connection>;

  asio::awaitable<ConnectionPtr> connect(const Backend& backend,
                                         std::chrono::steady_clock::time_point deadline,
                                         UpstreamError& error);
  ConnectionPtr take_idle(const std::string& key);
  void put_idle(const std::string& key, ConnectionPtr c);

  asio::any_io_executor executor_;
  Limits limits_;
  tcp::resolver resolver_;
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle_;
  std::atomic<std::size_t> idle_total_{0};
};

}  // namespace tollgate
