#pragma once

#include <array>
#include <string>
#include <string_view>

#include "http/beast.h"

namespace tollgate {

// A response on its way to the client. The status line and each field are
// written out as text when set, so sending it takes no serializer and, once
// the connection has sent one response, no allocation.
class Reply {
 public:
  // Starts a new response, dropping the previous one.
  void start(unsigned status);
  void add(std::string_view name, std::string_view value);
  // The backend's own Content-Length stands (a HEAD or 304 answer).
  void keep_given_length() { length_given_ = true; }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }
  unsigned status() const { return status_; }
  bool bodiless() const { return status_ / 100 == 1 || status_ == 204 || status_ == 304; }

  // Closes the head with the framing and Connection fields and gives what to
  // write. A HEAD answer keeps the length of the body it does not send.
  std::array<asio::const_buffer, 2> finish(bool keep_alive, unsigned request_version,
                                           bool head_request);

 private:
  unsigned status_ = 0;
  bool length_given_ = false;
  std::string head_;
  std::string body_;
};

// Appends the field line `name: value` to a message head.
void append_field(std::string& head, std::string_view name, std::string_view value);

// Starts `reply` as the JSON error `{"message": ...}` with x-amzn-ErrorType.
void set_error_reply(Reply& reply, unsigned status, std::string_view error_type,
                     std::string_view message);

}  // namespace tollgate
