#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/key_hasher.h"
#include "model/types.h"
#include "store/store.h"

namespace tollgate {

// The secret a store's hashed key values are made with: DATA_DIR/key-secret,
// 32 random bytes in hex, owner-only. It is not in the store, so a copy of
// the store alone does not let anyone test guessed values; without it no
// hashed key can be checked, so it is backed up with the store.
std::filesystem::path key_secret_path(const std::filesystem::path& data_dir);

// Stored key values for the processes sharing one data directory: the
// hasher is made from the secret the first time a state whose keys are
// hashed needs it (another process may turn hashing on while this one
// runs). Thread-safe.
class KeyHashing {
 public:
  explicit KeyHashing(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  // Null when `state` keeps values as given. Throws std::runtime_error naming
  // the secret file when it is needed but missing or malformed.
  std::shared_ptr<const KeyHasher> hasher_for(const ControlState& state) const;
  // `value` as `state`'s store keeps it: itself, or its digest.
  std::string stored_value(const ControlState& state, std::string_view value) const;

  // Turns hashing on within `state` (to be written by its transaction):
  // makes the secret if there is none and replaces every value by its
  // digest. Returns how many values it hashed; none when already on.
  std::size_t hash_all(ControlState& state) const;

 private:
  const KeyHasher& load(bool create) const;

  std::filesystem::path data_dir_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const KeyHasher> hasher_;
};

// Turns hashing on for `store` in one transaction; what hash_all returns.
std::size_t hash_stored_keys(Store& store, const KeyHashing& hashing);

}  // namespace tollgate
