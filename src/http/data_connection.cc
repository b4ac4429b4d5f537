#include "http/data_connection.h"

namespace tollgate {

Task<void> serve_data_connection(Socket socket, DataPlane& plane, Deadlines& deadlines,
                                 const ConnectionLimits& limits) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  Deadlines::Entry deadline(deadlines, socket);
  beast::flat_buffer buffer;
  Exchange exchange;
  for (;;) {
    deadline.expires_after(limits.idle_timeout);
    RequestReader reader(exchange.request);
    reader.header_limit(limits.header_limit);
    reader.body_limit(limits.body_limit);
    auto [read_error, bytes] = co_await http::async_read(socket, buffer, reader, as_result);
    // While the request is handled the upstream exchange has its own deadline.
    deadline.expires_never();

    bool keep_alive = false;
    bool head = false;
    unsigned version = 11;
    if (read_error == http::error::body_limit) {
      set_error_reply(exchange.reply, 413, "BadRequestException", "Request body too large");
    } else if (read_error == http::error::header_limit) {
      set_error_reply(exchange.reply, 431, "BadRequestException", "Request header fields too large");
    } else if (read_error) {
      if (deadline.expired() || !reader.got_some() || read_error == http::error::end_of_stream ||
          read_error == asio::error::connection_reset || read_error == asio::error::eof)
        break;
      set_error_reply(exchange.reply, 400, "BadRequestException", "Malformed HTTP request");
    } else {
      keep_alive = exchange.request.keep_alive;
      head = exchange.request.verb == http::verb::head;
      version = exchange.request.version;
      co_await plane.handle(exchange);
    }
    deadline.expires_after(limits.write_timeout);
    auto [write_error, written] =
        co_await asio::async_write(socket, exchange.reply.finish(keep_alive, version, head), as_result);
    if (write_error || !keep_alive) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace tollgate
