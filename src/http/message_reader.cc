#include "http/message_reader.h"

namespace tollgate {

void InboundMessage::clear() {
  verb = http::verb::unknown;
  method.clear();
  target.clear();
  status = 0;
  version = 11;
  fields.clear();
  body.clear();
  keep_alive = true;
  has_body_framing = false;
}

template <bool isRequest>
void MessageReader<isRequest>::on_request_impl(http::verb verb, beast::string_view method,
                                               beast::string_view target, int version, beast::error_code&) {
  message_.verb = verb;
  message_.method.assign(method.data(), method.size());
  message_.target.assign(target.data(), target.size());
  message_.version = static_cast<unsigned>(version);
}

template <bool isRequest>
void MessageReader<isRequest>::on_response_impl(int status, beast::string_view, int version, beast::error_code&) {
  message_.status = static_cast<unsigned>(status);
  message_.version = static_cast<unsigned>(version);
}

template <bool isRequest>
void MessageReader<isRequest>::on_field_impl(http::field id, beast::string_view name, beast::string_view value,
                                             beast::error_code&) {
  if (id == http::field::content_length || id == http::field::transfer_encoding) message_.has_body_framing = true;
  message_.fields.add(id, {name.data(), name.size()}, {value.data(), value.size()});
}

template <bool isRequest>
void MessageReader<isRequest>::on_header_impl(beast::error_code&) {}

template <bool isRequest>
void MessageReader<isRequest>::on_body_init_impl(const boost::optional<std::uint64_t>& length,
                                                 beast::error_code&) {
  // The parser has already held the length to the body limit.
  if (length) message_.body.reserve(static_cast<std::size_t>(*length));
}

template <bool isRequest>
std::size_t MessageReader<isRequest>::on_body_impl(beast::string_view body, beast::error_code&) {
  message_.body.append(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void MessageReader<isRequest>::on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) {}

template <bool isRequest>
std::size_t MessageReader<isRequest>::on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                                         beast::error_code&) {
  message_.body.append(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void MessageReader<isRequest>::on_finish_impl(beast::error_code&) {
  message_.keep_alive = this->keep_alive();
}

template class MessageReader<true>;
template class MessageReader<false>;

}  // namespace tollgate
