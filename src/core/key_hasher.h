#pragma once

// Stored key values, when the store keeps keys hashed: HMAC-SHA256 of the
// value under a server secret. The digest is deterministic, so it is itself
// the key table's lookup key (one hash table probe, as for a plain value);
// the secret keeps a stolen store from being checked against guessed values.

#include <array>
#include <string>
#include <string_view>

namespace tollgate {

class KeyHasher {
 public:
  static constexpr std::string_view kPrefix = "hmac-sha256:";
  static constexpr std::size_t kDigestSize = 32;
  // The prefix and the digest in lower-case hex.
  static constexpr std::size_t kStoredSize = kPrefix.size() + 2 * kDigestSize;
  using Stored = std::array<char, kStoredSize>;

  // `secret`: raw bytes, at least 16.
  explicit KeyHasher(std::string_view secret);

  // The stored form of `value`, written into `out`; no allocation.
  std::string_view stored(std::string_view value, Stored& out) const;
  std::string stored(std::string_view value) const;

 private:
  // OpenSSL's SHA256_CTX, kept opaque so that its header (and the
  // deprecation of its low-level API) stays in key_hasher.cc.
  struct Sha256State {
    alignas(8) unsigned char bytes[112];
  };
  // SHA-256 states after the key's inner and outer pads: each digest then
  // costs two compressions for a value under 56 bytes, and no allocation
  // (EVP_MAC would allocate a context per digest).
  Sha256State inner_{};
  Sha256State outer_{};
};

}  // namespace tollgate
