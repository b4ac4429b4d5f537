#include "http/message_reader.h"

#include <algorithm>

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
                                               beast::string_view target, int version,
                                               beast::error_code& ec) {
  if (target.size() > rules_.max_target) return refuse(RequestFault::kTargetTooLong, ec);
  message_.verb = verb;
  message_.method.assign(method.data(), method.size());
  message_.target.assign(target.data(), target.size());
  message_.version = static_cast<unsigned>(version);
}

template <bool isRequest>
bool MessageReader<isRequest>::folded(beast::string_view name, beast::string_view value) const {
  const char* first = static_cast<const char*>(input_.data());
  const char* last = first + input_.size();
  const char* name_end = name.data() + name.size();
  if (value.data() < name_end || value.data() > last) return true;  // Beast's own copy
  return std::find(name_end, value.data(), '\n') != value.data();   // "Name:\r\n value"
}

template <bool isRequest>
void MessageReader<isRequest>::on_response_impl(int status, beast::string_view, int version,
                                                beast::error_code&) {
  message_.status = static_cast<unsigned>(status);
  message_.version = static_cast<unsigned>(version);
}

template <bool isRequest>
void MessageReader<isRequest>::on_field_impl(http::field id, beast::string_view name,
                                             beast::string_view value, beast::error_code& ec) {
  if constexpr (isRequest) {
    if (message_.fields.size() >= rules_.max_fields)
      return refuse(RequestFault::kTooManyFields, ec);
    if (input_.size() != 0 && folded(name, value)) return refuse(RequestFault::kObsFold, ec);
    if (id == http::field::transfer_encoding) transfer_encoding_ = true;
  }
  if (id == http::field::content_length || id == http::field::transfer_encoding)
    message_.has_body_framing = true;
  message_.fields.add(id, {name.data(), name.size()}, {value.data(), value.size()});
}

template <bool isRequest>
void MessageReader<isRequest>::on_header_impl(beast::error_code& ec) {
  if (!isRequest || !transfer_encoding_) return;
  // Beast marks the message chunked only when chunked is the last coding.
  if (!this->chunked()) return refuse(RequestFault::kChunkedNotFinal, ec);
  for (std::size_t i = 0; i < message_.fields.size(); ++i) {
    const FieldList::Field f = message_.fields[i];
    if (f.id != http::field::transfer_encoding) continue;
    for (auto coding : http::token_list(beast::string_view(f.value.data(), f.value.size())))
      if (!beast::iequals(coding, "chunked")) return refuse(RequestFault::kUnknownCoding, ec);
  }
}

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
void MessageReader<isRequest>::on_chunk_header_impl(std::uint64_t, beast::string_view,
                                                    beast::error_code&) {}

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
