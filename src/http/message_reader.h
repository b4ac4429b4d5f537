#pragma once

#include <string>

#include "http/beast.h"
#include "http/field_list.h"

namespace tollgate {

// One HTTP message as read: start line, fields and the decoded body. A
// connection keeps one and reuses its memory for every message.
struct InboundMessage {
  // Request line.
  http::verb verb = http::verb::unknown;
  std::string method;  // as sent, for verbs Beast does not know
  std::string target;
  // Status line.
  unsigned status = 0;
  unsigned version = 11;
  FieldList fields;
  std::string body;  // chunked bodies arrive decoded
  bool keep_alive = true;
  bool has_body_framing = false;  // sent Content-Length or Transfer-Encoding

  void clear();
};

// Beast's HTTP/1 parser, storing into an InboundMessage instead of a
// basic_fields container (which allocates a node per field). Beast still
// does the parsing, the limits and the chunked decoding.
template <bool isRequest>
class MessageReader final : public http::basic_parser<isRequest> {
 public:
  explicit MessageReader(InboundMessage& message) : message_(message) { message_.clear(); }

 private:
  void on_request_impl(http::verb verb, beast::string_view method, beast::string_view target, int version,
                       beast::error_code& ec) override;
  void on_response_impl(int status, beast::string_view reason, int version, beast::error_code& ec) override;
  void on_field_impl(http::field id, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code& ec) override;
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, beast::string_view extensions, beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, beast::string_view body, beast::error_code& ec) override;
  void on_finish_impl(beast::error_code& ec) override;

  InboundMessage& message_;
};

using RequestReader = MessageReader<true>;
using ResponseReader = MessageReader<false>;

}  // namespace tollgate
