#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message_reader.h"

namespace tollgate {

// What a message is held to; the same limits its MessageReader has.
struct WholeMessageLimits {
  std::uint32_t header_limit = 8 * 1024;  // start line, fields and the blank line
  std::uint64_t body_limit = 1024 * 1024;
  RequestRules rules;  // requests only
};

// A fast path for the messages nearly every client and backend sends, in
// front of Beast's parser (about a quarter of the user-space instructions
// per proxied request went to it). It reads a message only when all of it is
// already in `input` and it is in a strict, plain form:
//
//  - HTTP/1.0 or 1.1, every line ending in CRLF, no folded field values;
//  - within the header and body limits, the target and field-count rules;
//  - a body framed by one Content-Length of plain digits, or none;
//  - no Transfer-Encoding or Upgrade field, and a Connection (or
//    Proxy-Connection) field only of a lone "close" or "keep-alive".
//
// Such a message it stores into `out` exactly as MessageReader would (a
// differential fuzz target holds it to that) and returns the bytes it took.
// Anything else, incomplete, malformed or merely unusual, it leaves to
// Beast: it returns 0, and `out` is to be cleared before Beast reads it
// (MessageReader's constructor does).
std::size_t parse_whole_request(std::string_view input, const WholeMessageLimits& limits,
                                InboundMessage& out);

// The same for a response; `head_request`: it answers a HEAD request, so
// has no body whatever its fields say.
std::size_t parse_whole_response(std::string_view input, const WholeMessageLimits& limits,
                                 bool head_request, InboundMessage& out);

// A read buffer's bytes, as the parsers above take them.
inline std::string_view as_text(asio::const_buffer bytes) {
  return {static_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace tollgate
