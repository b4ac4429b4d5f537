#include "core/key_hasher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace tollgate {
namespace {

// The stored form computed with OpenSSL's one-shot HMAC, to check ours by.
std::string reference(std::string_view secret, std::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest, &size);
  std::string out(KeyHasher::kPrefix);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

TEST(KeyHasher, IsHmacSha256InHexAfterThePrefix) {
  const std::string secret(32, '\x5a');
  const KeyHasher hasher(secret);
  // Around the sizes where SHA-256 padding takes another block, and the longest key.
  for (const std::size_t size : {0, 1, 20, 40, 55, 56, 63, 64, 65, 128}) {
    const std::string value(size, 'k');
    EXPECT_EQ(hasher.stored(value), reference(secret, value)) << size;
  }
  EXPECT_EQ(hasher.stored("x").size(), KeyHasher::kStoredSize);
}

TEST(KeyHasher, SecretsLongerThanABlockAreHashedFirst) {
  const std::string secret(100, 's');
  EXPECT_EQ(KeyHasher(secret).stored("value-0123456789abcdef"),
            reference(secret, "value-0123456789abcdef"));
}

TEST(KeyHasher, DifferentSecretsGiveDifferentDigests) {
  EXPECT_NE(KeyHasher(std::string(32, 'a')).stored("same-value-0123456789"),
            KeyHasher(std::string(32, 'b')).stored("same-value-0123456789"));
}

TEST(KeyHasher, RefusesAShortSecret) { EXPECT_THROW(KeyHasher("short"), std::invalid_argument); }

}  // namespace
}  // namespace tollgate
