#include "core/ids.h"

#include <openssl/rand.h>

#include <stdexcept>
#include <string_view>

namespace tollgate {
namespace {

std::string random_from(std::string_view alphabet, std::size_t length) {
  std::string out(length, '\0');
  std::size_t filled = 0;
  unsigned char bytes[64];
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256 - (256 % alphabet.size());
  while (filled < length) {
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    for (unsigned char b : bytes) {
      if (b >= limit) continue;
      out[filled++] = alphabet[b % alphabet.size()];
      if (filled == length) break;
    }
  }
  return out;
}

}  // namespace

std::string random_id(std::size_t length) {
  return random_from("abcdefghijklmnopqrstuvwxyz0123456789", length);
}

std::string random_key_value(std::size_t length) {
  return random_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", length);
}

}  // namespace tollgate
