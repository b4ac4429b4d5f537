#pragma once

#include <chrono>
#include <cstdint>

#include "http/message_reader.h"

namespace tollgate {

// What the data plane allows one client. Past a size limit the request is
// refused (431, 414, 413) and the connection closed; past a read timeout the
// client gets 408 and the connection is closed.
struct ClientLimits {
  std::uint32_t max_header_bytes = 16 * 1024;  // request line and fields together
  std::uint64_t max_body_bytes = 10 * 1024 * 1024;
  RequestRules rules;  // the target's length and the number of fields
  // From a new connection's accept, or a later request's first byte, to the
  // end of its header.
  std::chrono::milliseconds header_timeout{10'000};
  // From the end of the header to the end of the body.
  std::chrono::milliseconds body_timeout{60'000};
  // A kept-alive connection waiting for its next request is closed after
  // this, without an answer.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  // Connections one worker serves at once. Each one past it is read, given
  // 503 and closed, so the client learns why; beyond twice the limit
  // connections are closed at once.
  std::uint32_t max_connections = 4096;
};

}  // namespace tollgate
