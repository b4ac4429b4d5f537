#include "http/listener.h"

#include <charconv>
#include <stdexcept>

namespace tollgate {

tcp::endpoint parse_listen_address(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("listen address '" + address + "' needs HOST:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc{} || ptr != last || port > 65535)
    throw std::invalid_argument("listen address '" + address + "' has a bad port");
  beast::error_code aec;
  const auto ip = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, aec);
  if (aec)
    throw std::invalid_argument("listen address '" + address + "' needs a numeric IP address");
  return {ip, static_cast<unsigned short>(port)};
}

Acceptor bind_reuseport(asio::io_context& io, const tcp::endpoint& endpoint) {
  Acceptor acceptor(io.get_executor());
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const RequestHandler& handler,
                                  const ConnectionLimits& limits, const ServerTls* tls) {
  return accept_each(acceptor, [&handler, &limits, tls](tcp::socket socket) {
    return serve_connection(std::move(socket), handler, limits, tls ? tls->current() : nullptr);
  });
}

}  // namespace tollgate
