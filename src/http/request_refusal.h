#pragma once

#include <optional>
#include <string_view>

#include "http/beast.h"
#include "http/message_reader.h"

namespace tollgate {

// How the data plane answers a request it will not route: the status and
// the message of its JSON body.
struct Refusal {
  unsigned status = 400;
  std::string_view message;
};

// For a request whose read ended with `ec`, other than by a timeout or the
// peer leaving. The connection closes after it: where the next request
// would begin is not known.
Refusal read_refusal(const beast::error_code& ec, RequestFault fault);

// Why a well-formed request's target may not be routed, or empty: it is not
// a path, or its path has dot-segments ("/a/../b", also percent-encoded),
// which a backend would resolve to a path the route never matched, or an
// encoded NUL.
std::string_view target_problem(std::string_view target);

// The header fields the gateway decides on, found in one pass over the
// request's fields.
struct DecidingFields {
  std::optional<std::string_view> api_key;  // the x-api-key value, if sent
  // Why they are ambiguous, or empty: two Host fields (RFC 9112 §3.2), or
  // two x-api-key fields, of which the gate would charge one key while the
  // backend, and many a framework behind it, reads the other.
  std::string_view problem;
};
DecidingFields deciding_fields(const InboundMessage& request);

}  // namespace tollgate
