#include "store/key_hashing.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "store/control_diff.h"

namespace tollgate {
namespace {

constexpr std::size_t kSecretBytes = 32;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The secret's bytes from the file's hex line; throws naming the file.
std::string read_secret(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in)
    throw std::runtime_error("the store keeps API keys hashed, but their secret " + file.string() +
                             " cannot be read; restore it from the backup of this data directory");
  std::string hex;
  std::getline(in, hex);
  std::string secret;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int high = hex_digit(hex[i]);
    const int low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) break;
    secret += static_cast<char>(high << 4 | low);
  }
  if (secret.size() != kSecretBytes || hex.size() != 2 * kSecretBytes)
    throw std::runtime_error(file.string() + " must hold one line of " +
                             std::to_string(2 * kSecretBytes) + " lower-case hex digits");
  return secret;
}

// Writes a new secret unless the file exists; another process making one at
// the same time is no harm: the first link wins and both read that one.
void create_secret(const std::filesystem::path& file) {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("no random bytes for the key secret");
  std::string hex;
  for (const unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  hex += '\n';
  const std::filesystem::path temp = file.string() + ".new-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + temp.string() + ": " + std::strerror(errno));
  const bool written =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  const bool linked = written && (::link(temp.c_str(), file.c_str()) == 0 || errno == EEXIST);
  const int link_error = errno;
  ::unlink(temp.c_str());
  if (!linked)
    throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(link_error));
}

}  // namespace

std::filesystem::path key_secret_path(const std::filesystem::path& data_dir) {
  return data_dir / "key-secret";
}

const KeyHasher& KeyHashing::load(bool create) const {
  std::lock_guard lock(mutex_);
  if (!hasher_) {
    const std::filesystem::path file = key_secret_path(data_dir_);
    if (create && !std::filesystem::exists(file)) {
      create_secret(file);
      spdlog::info("key secret created in {}: back it up with the store", file.string());
    }
    hasher_ = std::make_shared<const KeyHasher>(read_secret(file));
  }
  return *hasher_;
}

std::shared_ptr<const KeyHasher> KeyHashing::hasher_for(const ControlState& state) const {
  if (!state.keys_hashed) return nullptr;
  load(false);
  std::lock_guard lock(mutex_);
  return hasher_;
}

std::string KeyHashing::stored_value(const ControlState& state, std::string_view value) const {
  return state.keys_hashed ? load(false).stored(value) : std::string(value);
}

std::size_t KeyHashing::hash_all(ControlState& state) const {
  if (state.keys_hashed) return 0;
  const KeyHasher& hasher = load(true);
  for (ApiKey& key : state.api_keys) key.value = hasher.stored(key.value);
  state.keys_hashed = true;
  return state.api_keys.size();
}

std::size_t hash_stored_keys(Store& store, const KeyHashing& hashing) {
  auto tx = store.begin();
  const ControlState before = tx->state();
  if (before.keys_hashed) return 0;
  ControlState after = before;
  const std::size_t hashed = hashing.hash_all(after);
  write_diff(*tx, before, after);
  tx->commit();
  return hashed;
}

}  // namespace tollgate
