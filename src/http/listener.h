#pragma once

#include <chrono>
#include <string>

#include "http/beast.h"
#include "http/connection.h"
#include "http/executor.h"
#include "http/tls_context.h"

namespace tollgate {

// "host:port" → endpoint. Throws std::invalid_argument naming the address.
tcp::endpoint parse_listen_address(const std::string& address);

// An acceptor bound with SO_REUSEPORT, so that one per worker thread can share
// a port and the kernel spreads connections across them.
Acceptor bind_reuseport(asio::io_context& io, const tcp::endpoint& endpoint);

// Accepts until the acceptor is closed, spawning `serve(socket)` for each
// connection on the acceptor's executor.
template <class SocketAcceptor, class Serve>
asio::awaitable<void, typename SocketAcceptor::executor_type> accept_each(SocketAcceptor& acceptor,
                                                                          Serve serve) {
  using Ex = typename SocketAcceptor::executor_type;
  constexpr auto result = asio::as_tuple(asio::use_awaitable_t<Ex>{});
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(result);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // e.g. EMFILE: wait a little for descriptors to free rather than spin.
      asio::basic_waitable_timer<std::chrono::steady_clock,
                                 asio::wait_traits<std::chrono::steady_clock>, Ex>
          pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(result);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

// The admin API's accept loop: Beast messages through `handler`, over TLS
// when `tls` is given.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const RequestHandler& handler,
                                  const ConnectionLimits& limits, const ServerTls* tls = nullptr);

}  // namespace tollgate
