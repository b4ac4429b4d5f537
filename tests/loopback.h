#pragma once

// The IPv4 loopback address at a port, for tests that open sockets of their own.

#include <netinet/in.h>

#include <cstdint>

namespace tollgate {

inline sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

}  // namespace tollgate
