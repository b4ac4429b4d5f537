#pragma once

#include <string>

#include "http/beast.h"
#include "http/connection.h"

namespace tollgate {

// "host:port" → endpoint. Throws std::invalid_argument naming the address.
tcp::endpoint parse_listen_address(const std::string& address);

// An acceptor bound with SO_REUSEPORT, so that one per worker thread can share
// a port and the kernel spreads connections across them.
tcp::acceptor bind_reuseport(asio::io_context& io, const tcp::endpoint& endpoint);

// Accepts until the acceptor is closed, serving each connection on the
// acceptor's executor.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const RequestHandler& handler,
                                  const ConnectionLimits& limits);

}  // namespace tollgate
