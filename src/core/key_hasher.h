#pragma once

// Stored key values, when the store keeps keys hashed: HMAC-SHA256 of the
// value under a server secret. The digest is deterministic, so it is itself
// the key table's lookup key (one hash table probe, as for a plain value);
// the secret keeps a stolen store from being checked against guessed values.

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_CTX: the only way to reuse the keyed pads without allocating
#include <openssl/sha.h>

#include <array>
#include <string>
#include <string_view>

namespace tollgate {

class KeyHasher {
 public:
  static constexpr std::string_view kPrefix = "hmac-sha256:";
  // The prefix and the digest in lower-case hex.
  static constexpr std::size_t kStoredSize = kPrefix.size() + 2 * SHA256_DIGEST_LENGTH;
  using Stored = std::array<char, kStoredSize>;

  // `secret`: raw bytes, at least 16.
  explicit KeyHasher(std::string_view secret);

  // The stored form of `value`, written into `out`; no allocation.
  std::string_view stored(std::string_view value, Stored& out) const;
  std::string stored(std::string_view value) const;

 private:
  // SHA-256 states after the key's inner and outer pads: each digest then
  // costs two compressions for a value under 56 bytes.
  SHA256_CTX inner_{};
  SHA256_CTX outer_{};
};

}  // namespace tollgate
