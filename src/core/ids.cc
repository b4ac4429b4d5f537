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

std::string new_key_id(std::int64_t now_s) {
  constexpr std::int64_t kEpoch2020 = 1577836800;
  constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::int64_t minute = now_s > kEpoch2020 ? (now_s - kEpoch2020) / 60 : 0;
  std::string id(5, '0');
  for (std::size_t i = 5; i-- > 0; minute /= 36)
    id[i] = kDigits[static_cast<std::size_t>(minute % 36)];
  return id + random_id(5);
}

std::string random_key_value(std::size_t length) {
  return random_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", length);
}

}  // namespace tollgate
