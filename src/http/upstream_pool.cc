#include "http/upstream_pool.h"

#include <algorithm>
#include <tuple>

#include "http/whole_message_parser.h"

namespace tollgate {
namespace {

// The peer closed a kept-alive connection before answering.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
         ec == asio::error::eof;
}

// The most a read of a response asks for.
constexpr std::size_t kReadChunk = 64 * 1024;

// What a read that failed with `read_error` makes of the response: the end
// of a body that runs to the connection's close, or an error.
beast::error_code end_of_response(ResponseReader& reader, const beast::error_code& read_error) {
  if (read_error != asio::error::eof) return read_error;
  if (!reader.got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  reader.put_eof(ec);
  return ec;
}

}  // namespace

// A connection one request uses, or the place held for it while it is
// opened: given back to the pool however the request ends, its coroutine
// frame destroyed at shutdown included.
class UpstreamPool::Lease {
 public:
  Lease(UpstreamPool& pool, Host& host, ConnectionPtr c)
      : connection(std::move(c)), pool_(pool), host_(host) {}
  ~Lease() { pool_.give_back(host_, std::move(connection), reusable); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  ConnectionPtr connection;
  bool reusable = false;

 private:
  UpstreamPool& pool_;
  Host& host_;
};

UpstreamPool::Waiter::~Waiter() {
  if (queued) std::erase(host.waiting, this);
}

UpstreamPool::UpstreamPool(Executor executor, Deadlines& deadlines, Limits limits, SendBatch* sends)
    : executor_(executor),
      deadlines_(deadlines),
      limits_(limits),
      sends_(sends),
      resolver_(executor) {}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::close_idle() {
  for (auto& [key, host] : hosts_) {
    host.open -= static_cast<std::uint32_t>(host.idle.size());
    idle_total_.fetch_sub(host.idle.size(), std::memory_order_relaxed);
    host.idle.clear();
  }
}

UpstreamPool::Host& UpstreamPool::host_for(const Backend& backend) {
  // A worker's requests mostly go where its last one went: comparing the
  // name is cheaper than hashing it.
  if (last_host_ && backend.pool_key == last_host_name_) return *last_host_;
  auto& [name, host] = *hosts_.try_emplace(backend.pool_key).first;
  last_host_name_ = name;
  last_host_ = &host;
  return host;
}

UpstreamPool::ConnectionPtr UpstreamPool::take_idle(Host& host) {
  if (host.idle.empty()) return nullptr;
  ConnectionPtr c = std::move(host.idle.back());
  host.idle.pop_back();
  idle_total_.fetch_sub(1, std::memory_order_relaxed);
  return c;
}

void UpstreamPool::give_back(Host& host, ConnectionPtr c, bool reusable) {
  if (!reusable)
    c.reset();
  else if (c)
    c->deadline.expires_never();  // until its next request sets one
  if (!host.waiting.empty()) {
    Waiter* w = host.waiting.front();
    host.waiting.pop_front();
    w->queued = false;
    w->handed = std::move(c);
    w->may_open = w->handed == nullptr;  // the place passes on; `open` is unchanged
    w->timer.cancel();
    return;
  }
  if (c && host.idle.size() < limits_.idle_per_backend) {
    host.idle.push_back(std::move(c));
    idle_total_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  --host.open;
}

Task<UpstreamPool::ConnectionPtr> UpstreamPool::wait_for_connection(
    Host& host, Deadlines::Clock::time_point deadline, UpstreamError& error) {
  error = UpstreamError::kOverflow;
  if (host.waiting.size() >= limits_.max_waiting_per_backend) co_return nullptr;
  Waiter w(executor_, host);
  // The timer runs on the precise clock, the deadline on the coarse one.
  w.timer.expires_after(deadline - Deadlines::Clock::now());
  host.waiting.push_back(&w);
  w.queued = true;
  // Woken by give_back (which cancels the timer), or by the deadline; a
  // connection handed over just as the deadline passed is still taken.
  co_await w.timer.async_wait(as_result);
  error = w.handed || w.may_open ? UpstreamError::kNone : UpstreamError::kTimeout;
  co_return std::move(w.handed);
}

Task<UpstreamPool::ConnectionPtr> UpstreamPool::connect(const Backend& backend,
                                                        Deadlines::Clock::time_point deadline,
                                                        UpstreamError& error) {
  auto [resolve_error, endpoints] =
      co_await resolver_.async_resolve(backend.host, backend.port, as_result);
  error = UpstreamError::kUnreachable;
  if (resolve_error) co_return nullptr;
  auto c = std::make_unique<Connection>(executor_, deadlines_);
  // One address at a time: a socket the deadline closed must not be
  // reopened for the next address.
  for (const auto& entry : endpoints) {
    c->deadline.expires_at(deadline);
    auto [ec] = co_await c->socket.async_connect(entry.endpoint(), as_result);
    if (!ec) {
      c->socket.set_option(tcp::no_delay(true), ec);
      error = UpstreamError::kNone;
      co_return c;
    }
    if (c->deadline.expired()) {
      error = UpstreamError::kTimeout;
      co_return nullptr;
    }
    beast::error_code ignored;
    c->socket.close(ignored);
  }
  co_return nullptr;
}

Task<UpstreamError> UpstreamPool::exchange(const Backend& backend, const UpstreamRequest& request,
                                           InboundMessage& response,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = Deadlines::Clock::now() + timeout;
  Host& host = host_for(backend);
  ConnectionPtr idle = take_idle(host);
  if (!idle) {
    if (host.open < limits_.max_per_backend) {
      ++host.open;
    } else {
      UpstreamError error = UpstreamError::kNone;
      idle = co_await wait_for_connection(host, deadline, error);
      if (error != UpstreamError::kNone) co_return error;
    }
  }
  Lease lease(*this, host, std::move(idle));
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = lease.connection != nullptr;
    if (!reused) {
      UpstreamError error = UpstreamError::kNone;
      lease.connection = co_await connect(backend, deadline, error);
      if (!lease.connection) co_return error;
    }
    Connection& c = *lease.connection;
    c.deadline.expires_at(deadline);

    const SendBatch::Buffers out{asio::buffer(request.head), asio::buffer(request.body)};
    SendBatch::Unsent unsent(out);
    beast::error_code write_error;
    if (SendBatch::Slot slot; sends_ && sends_->queue(slot, c.socket, out)) {
      co_await asio::post(executor_, as_result);
      write_error = sends_->settle(slot, unsent);
    }
    if (!write_error && beast::buffer_bytes(unsent) != 0) {
      auto [error, written] = co_await asio::async_write(c.socket, unsent, as_result);
      write_error = error;
    }
    if (write_error) {
      if (c.deadline.expired()) co_return UpstreamError::kTimeout;
      // The backend had closed the kept-alive connection; it cannot have
      // acted on a request it did not read.
      if (reused) {
        lease.connection.reset();
        continue;
      }
      co_return UpstreamError::kUnreachable;
    }

    beast::error_code ec;
    std::size_t bytes = 0;
    // The answer is read after the worker's other ready work has run: by
    // then it has usually arrived and the read takes it at once. Read at
    // once, it would first fail with EAGAIN (Asio tries every read before
    // it waits); a wait for readability costs an epoll_ctl to re-arm.
    if (c.buffer.size() == 0) co_await asio::post(c.socket.get_executor(), as_result);
    const WholeMessageLimits whole_limits{
        limits_.response_header_limit, limits_.response_body_limit, {}};
    // Interim 1xx answers (100 Continue, 103 Early Hints) are not the
    // response: read on until the final one.
    while (!ec) {
      ResponseReader reader(response);
      reader.body_limit(limits_.response_body_limit);
      reader.header_limit(limits_.response_header_limit);
      reader.eager(true);
      if (request.head_method) reader.skip(true);
      // Beast's parser fed by plain reads, as the client's requests are:
      // http::async_read would wrap each read in two composed operations
      // that track work on the io_context.
      for (;;) {
        if (c.buffer.size() != 0) {
          // A response wholly read in a plain form is parsed without Beast.
          if (!reader.got_some()) {
            const std::size_t whole = parse_whole_response(as_text(c.buffer.data()), whole_limits,
                                                           request.head_method, response);
            if (whole != 0) {
              c.buffer.consume(whole);
              break;
            }
          }
          c.buffer.consume(reader.put_input(c.buffer.data(), ec));
          if (ec == http::error::need_more)
            ec = {};
          else if (ec || reader.is_done())
            break;
        }
        auto [read_error, n] = co_await c.socket.async_read_some(
            c.buffer.prepare(beast::read_size(c.buffer, kReadChunk)), as_result);
        if (read_error) {
          ec = end_of_response(reader, read_error);
          break;
        }
        c.buffer.commit(n);
        bytes += n;
      }
      if (ec || response.status / 100 != 1 || response.status == 101) break;
    }
    if (ec) {
      if (c.deadline.expired()) co_return UpstreamError::kTimeout;
      // Sent again only if the backend cannot have acted on it: the
      // connection was found closed before any answer, and the method is
      // idempotent (a POST might have run before the backend hung up).
      if (reused && bytes == 0 && request.idempotent && closed_by_peer(ec)) {
        lease.connection.reset();
        continue;
      }
      co_return UpstreamError::kBadResponse;
    }
    // Bytes past the response would be read as the next request's answer.
    lease.reusable = response.keep_alive && c.buffer.size() == 0;
    co_return UpstreamError::kNone;
  }
  co_return UpstreamError::kUnreachable;
}

}  // namespace tollgate
