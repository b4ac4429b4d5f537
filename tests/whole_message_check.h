#pragma once

// Holds the whole-message parser to Beast's: a message it reads must be
// read by MessageReader from the same bytes, to the same message. Shared by
// tests/http/whole_message_parser_test.cc and the differential fuzz target.

#include <string>
#include <string_view>

#include "http/message_reader.h"
#include "http/whole_message_parser.h"

namespace tollgate::testing {

// Every part of a message the data plane uses, as text: two readings of
// the same bytes compare equal, or show where they differ.
inline std::string describe(const InboundMessage& m) {
  std::string out = "verb " + std::to_string(static_cast<int>(m.verb)) + " method '" + m.method +
                    "' target '" + m.target + "' status " + std::to_string(m.status) + " version " +
                    std::to_string(m.version) + " keep_alive " + std::to_string(m.keep_alive) +
                    " framed " + std::to_string(m.has_body_framing) + "\n";
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const FieldList::Field f = m.fields[i];
    out += "field " + std::to_string(static_cast<int>(f.id)) + " '" + std::string(f.name) + "' '" +
           std::string(f.value) + "'\n";
  }
  return out + "body '" + m.body + "'";
}

// Reads `wire` with MessageReader in one piece, as the data plane hands it
// a first read. Returns the bytes the message took; 0 unless it was read
// whole and without error.
template <bool isRequest>
std::size_t read_with_beast(std::string_view wire, const WholeMessageLimits& limits,
                            bool head_request, InboundMessage& out) {
  MessageReader<isRequest> reader(out, limits.rules);
  reader.header_limit(limits.header_limit);
  reader.body_limit(limits.body_limit);
  reader.eager(true);
  if (head_request) reader.skip(true);
  beast::error_code ec;
  const std::size_t used = reader.put_input(asio::buffer(wire.data(), wire.size()), ec);
  return !ec && reader.is_done() ? used : 0;
}

// What the whole-message parser made of `wire`, and what Beast did.
struct TwoReadings {
  std::size_t whole_used = 0;
  std::size_t beast_used = 0;
  std::string whole;
  std::string beast;

  // The parser took the message, and took it as Beast did.
  bool agree() const { return whole_used != 0 && whole_used == beast_used && whole == beast; }
};

inline TwoReadings read_both_ways(std::string_view wire, const WholeMessageLimits& limits,
                                  bool is_request, bool head_request = false) {
  TwoReadings r;
  InboundMessage whole;
  InboundMessage beast;
  if (is_request) {
    r.whole_used = parse_whole_request(wire, limits, whole);
    r.beast_used = read_with_beast<true>(wire, limits, false, beast);
  } else {
    r.whole_used = parse_whole_response(wire, limits, head_request, whole);
    r.beast_used = read_with_beast<false>(wire, limits, head_request, beast);
  }
  r.whole = describe(whole);
  r.beast = describe(beast);
  return r;
}

}  // namespace tollgate::testing
