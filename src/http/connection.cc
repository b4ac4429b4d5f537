#include "http/connection.h"

#include <boost/beast/ssl.hpp>

#include "http/responses.h"

namespace tollgate {

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// How long a TLS connection waits for the peer's close_notify once it has
// sent its own.
constexpr std::chrono::seconds kTlsShutdownTimeout{2};

template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, const RequestHandler& handler,
                                     const ConnectionLimits& limits,
                                     const asio::ip::address& peer) {
  constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  beast::error_code ec;
  if constexpr (kTls) {
    beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.header_limit);
    parser.body_limit(limits.body_limit);
    beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));

    HttpResponse response;
    bool keep_alive = false;
    if (ec == http::error::body_limit) {
      response = error_response(http::status::payload_too_large, "BadRequestException",
                                "Request body too large");
    } else if (ec == http::error::header_limit) {
      response = error_response(http::status::request_header_fields_too_large,
                                "BadRequestException", "Request header fields too large");
    } else if (ec) {
      const bool peer_gone = ec == http::error::end_of_stream || ec == beast::error::timeout ||
                             ec == asio::error::connection_reset || ec == asio::error::eof ||
                             ec == asio::ssl::error::stream_truncated;
      if (peer_gone || !parser.got_some()) break;
      response = error_response(http::status::bad_request, "BadRequestException",
                                "Malformed HTTP request");
    } else {
      HttpRequest& request = parser.get();
      keep_alive = request.keep_alive();
      const bool head = request.method() == http::verb::head;
      response = co_await handler(request, peer);
      if (head) {
        // A HEAD answer has the GET answer's headers and no body.
        if (!response.has_content_length() && !response.chunked())
          response.content_length(response.body().size());
        response.body().clear();
      }
    }
    response.keep_alive(keep_alive);
    beast::get_lowest_layer(stream).expires_after(limits.write_timeout);
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  if constexpr (kTls) {
    beast::get_lowest_layer(stream).expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

}  // namespace

asio::awaitable<void> serve_connection(tcp::socket socket, const RequestHandler& handler,
                                       const ConnectionLimits& limits,
                                       std::shared_ptr<TlsContext> tls) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  const asio::ip::address peer = socket.remote_endpoint(ec).address();
  if (!tls) {
    beast::tcp_stream stream(std::move(socket));
    co_await serve_requests(stream, handler, limits, peer);
    co_return;
  }
  // `tls` keeps the context (a reload replaces it) for as long as the stream.
  TlsStream stream(std::move(socket), *tls);
  co_await serve_requests(stream, handler, limits, peer);
}

}  // namespace tollgate
