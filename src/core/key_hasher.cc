#include "core/key_hasher.h"

// The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of EVP,
// which cannot copy a keyed state without allocating.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>
#include <stdexcept>

namespace tollgate {
namespace {

static_assert(SHA256_DIGEST_LENGTH == KeyHasher::kDigestSize);

// The state after hashing one block, `pad`, into `state`'s bytes.
template <class State>
void absorb(State& state, const unsigned char (&pad)[SHA256_CBLOCK]) {
  static_assert(sizeof(SHA256_CTX) == sizeof(state.bytes));
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad, sizeof pad);
  std::memcpy(state.bytes, &ctx, sizeof ctx);
}

}  // namespace

KeyHasher::KeyHasher(std::string_view secret) {
  if (secret.size() < 16)
    throw std::invalid_argument("key hashing secret must be at least 16 bytes");
  unsigned char block[SHA256_CBLOCK] = {};
  if (secret.size() > sizeof block) {
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), block);
  } else {
    std::memcpy(block, secret.data(), secret.size());
  }
  unsigned char pad[SHA256_CBLOCK];
  for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x36;
  absorb(inner_, pad);
  for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x5c;
  absorb(outer_, pad);
}

std::string_view KeyHasher::stored(std::string_view value, Stored& out) const {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  std::memcpy(&ctx, inner_.bytes, sizeof ctx);
  SHA256_Update(&ctx, value.data(), value.size());
  SHA256_Final(digest, &ctx);
  std::memcpy(&ctx, outer_.bytes, sizeof ctx);
  SHA256_Update(&ctx, digest, sizeof digest);
  SHA256_Final(digest, &ctx);
  std::memcpy(out.data(), kPrefix.data(), kPrefix.size());
  static constexpr char kHex[] = "0123456789abcdef";
  char* hex = out.data() + kPrefix.size();
  for (const unsigned char byte : digest) {
    *hex++ = kHex[byte >> 4];
    *hex++ = kHex[byte & 0xf];
  }
  return {out.data(), out.size()};
}

std::string KeyHasher::stored(std::string_view value) const {
  Stored out;
  return std::string(stored(value, out));
}

}  // namespace tollgate
