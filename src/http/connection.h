#pragma once

#include <chrono>
#include <functional>

#include "http/beast.h"
#include "http/tls_context.h"

namespace tollgate {

// Answers one request; `peer` is the client's address.
using RequestHandler =
    std::function<asio::awaitable<HttpResponse>(HttpRequest&, const asio::ip::address& peer)>;

struct ConnectionLimits {
  std::uint32_t header_limit = 16 * 1024;
  std::uint64_t body_limit = 10 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds write_timeout{30};
};

// Serves HTTP/1.1 requests on one connection until the peer closes, asks to
// close, or a limit or timeout ends it. A new parser per request bounds
// headers and body. With `tls`, the connection is TLS, its handshake bounded
// by the idle timeout.
asio::awaitable<void> serve_connection(tcp::socket socket, const RequestHandler& handler,
                                       const ConnectionLimits& limits,
                                       std::shared_ptr<TlsContext> tls = nullptr);

}  // namespace tollgate
