#pragma once

#include <cstdint>
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

// What a request broke beyond HTTP's grammar, which Beast checks itself.
enum class RequestFault : std::uint8_t {
  kNone,
  kTargetTooLong,
  kTooManyFields,
  kObsFold,          // a field value continued on the next line
  kChunkedNotFinal,  // Transfer-Encoding without chunked last: no reliable length
  kUnknownCoding,    // a transfer coding other than chunked
};

// Limits a request is held to beside the header and body limits.
struct RequestRules {
  std::uint32_t max_target = 8 * 1024;
  std::uint32_t max_fields = 100;
};

// Beast's HTTP/1 parser, storing into an InboundMessage instead of a
// basic_fields container (which allocates a node per field). Beast still
// does the parsing, the limits and the chunked decoding.
//
// A request reader also applies RequestRules and refuses what lets two
// parsers disagree on where a request ends (request smuggling): folded
// field values and transfer codings other than a lone chunked. Beast
// refuses a Content-Length beside Transfer-Encoding and differing lengths.
template <bool isRequest>
class MessageReader final : public http::basic_parser<isRequest> {
 public:
  explicit MessageReader(InboundMessage& message, RequestRules rules = {})
      : message_(message), rules_(rules) {
    message_.clear();
  }

  // Parses the bytes in `input`; the reader's own put(), which also notes
  // where the bytes are, so that a field value Beast unfolded from an
  // obs-fold is known: it lies outside them, or after a line break.
  std::size_t put_input(asio::const_buffer input, beast::error_code& ec) {
    input_ = input;
    return this->put(input, ec);
  }
  // Set when the error the reader gave is http::error::bad_value for one of
  // the rules above.
  RequestFault fault() const { return fault_; }

 private:
  bool folded(beast::string_view name, beast::string_view value) const;
  void refuse(RequestFault fault, beast::error_code& ec) {
    fault_ = fault;
    ec = http::error::bad_value;
  }

  void on_request_impl(http::verb verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code& ec) override;
  void on_response_impl(int status, beast::string_view reason, int version,
                        beast::error_code& ec) override;
  void on_field_impl(http::field id, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code& ec) override;
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, beast::string_view extensions,
                            beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, beast::string_view body,
                                 beast::error_code& ec) override;
  void on_finish_impl(beast::error_code& ec) override;

  InboundMessage& message_;
  RequestRules rules_;
  asio::const_buffer input_;
  RequestFault fault_ = RequestFault::kNone;
  bool transfer_encoding_ = false;
};

using RequestReader = MessageReader<true>;
using ResponseReader = MessageReader<false>;

}  // namespace tollgate
