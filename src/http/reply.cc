#include "http/reply.h"

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>

namespace tollgate {

void Reply::start(unsigned status) {
  status_ = status;
  length_given_ = false;
  body_.clear();
  head_.assign("HTTP/1.1 ");
  char code[8];
  head_.append(code, std::to_chars(code, code + sizeof code, status).ptr);
  head_ += ' ';
  const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  head_.append(reason.data(), reason.size());
  head_.append("\r\n", 2);
}

void append_field(std::string& head, std::string_view name, std::string_view value) {
  // Written whole on the stack, then appended once: four appends cost four
  // capacity checks and copies, about twice the instructions.
  char line[256];
  const std::size_t length = name.size() + value.size() + 4;
  if (length > sizeof line) {
    using namespace std::string_view_literals;
    head.append(name).append(": "sv).append(value).append("\r\n"sv);
    return;
  }
  char* out = std::copy(name.begin(), name.end(), line);
  *out++ = ':';
  *out++ = ' ';
  out = std::copy(value.begin(), value.end(), out);
  *out++ = '\r';
  *out++ = '\n';
  head.append(line, length);
}

void Reply::add(std::string_view name, std::string_view value) { append_field(head_, name, value); }

std::array<asio::const_buffer, 2> Reply::finish(bool keep_alive, unsigned request_version,
                                                bool head_request) {
  if (!bodiless() && !length_given_) {
    char length[24];
    head_ += "Content-Length: ";
    head_.append(length, std::to_chars(length, length + sizeof length, body_.size()).ptr);
    head_ += "\r\n";
  }
  if (!keep_alive)
    head_ += "Connection: close\r\n";
  else if (request_version < 11)
    head_ += "Connection: keep-alive\r\n";
  head_ += "\r\n";
  const bool send_body = !head_request && !bodiless();
  return {asio::buffer(head_), asio::buffer(body_.data(), send_body ? body_.size() : 0)};
}

void set_error_reply(Reply& reply, unsigned status, std::string_view error_type,
                     std::string_view message) {
  reply.start(status);
  reply.add("Content-Type", "application/json");
  reply.add("x-amzn-ErrorType", error_type);
  reply.body() = "{\"message\":";
  reply.body() += boost::json::serialize(boost::json::string_view(message.data(), message.size()));
  reply.body() += '}';
}

}  // namespace tollgate
