#include "http/connection.h"

#include "http/responses.h"

namespace tollgate {

asio::awaitable<void> serve_connection(tcp::socket socket, const RequestHandler& handler,
                                       const ConnectionLimits& limits) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.header_limit);
    parser.body_limit(limits.body_limit);
    stream.expires_after(limits.idle_timeout);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));

    HttpResponse response;
    bool keep_alive = false;
    if (ec == http::error::body_limit) {
      response = error_response(http::status::payload_too_large, "BadRequestException",
                                "Request body too large");
    } else if (ec == http::error::header_limit) {
      response = error_response(http::status::request_header_fields_too_large, "BadRequestException",
                                "Request header fields too large");
    } else if (ec) {
      const bool peer_gone = ec == http::error::end_of_stream || ec == beast::error::timeout ||
                             ec == asio::error::connection_reset || ec == asio::error::eof;
      if (peer_gone || !parser.got_some()) break;
      response = error_response(http::status::bad_request, "BadRequestException", "Malformed HTTP request");
    } else {
      HttpRequest& request = parser.get();
      keep_alive = request.keep_alive();
      const bool head = request.method() == http::verb::head;
      response = co_await handler(request);
      if (head) {
        // A HEAD answer has the GET answer's headers and no body.
        if (!response.has_content_length() && !response.chunked()) response.content_length(response.body().size());
        response.body().clear();
      }
    }
    response.keep_alive(keep_alive);
    stream.expires_after(limits.write_timeout);
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace tollgate
