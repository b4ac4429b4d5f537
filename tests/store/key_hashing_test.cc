#include "store/key_hashing.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace tollgate {
namespace {

class KeyHashingTest : public ::testing::Test {
 protected:
  void put_keys() {
    auto tx = store.begin();
    tx->put(ApiKey{"k1", "alice-value-0123456789", "alice", "", "", true, 1, 1, {}});
    tx->put(ApiKey{"k2", "bob-value-0123456789ab", "bob", "", "", false, 1, 1, {}});
    tx->commit();
  }

  TempDir temp_;
  const std::filesystem::path dir = temp_.path();
  SqliteStore store{dir / "tollgate.db"};
};

TEST_F(KeyHashingTest, HashingReplacesEveryValueByItsDigestInOneTransaction) {
  put_keys();
  const std::uint64_t version = store.control_version();
  const KeyHashing hashing(dir);
  EXPECT_EQ(hash_stored_keys(store, hashing), 2u);
  EXPECT_EQ(store.control_version(), version + 1);

  const ControlState s = store.load_control_state();
  EXPECT_TRUE(s.keys_hashed);
  EXPECT_TRUE(store.load_serving_state().keys_hashed);
  const auto hasher = hashing.hasher_for(s);
  ASSERT_NE(hasher, nullptr);
  ASSERT_EQ(s.api_keys.size(), 2u);
  EXPECT_EQ(s.api_keys[0].value, hasher->stored("alice-value-0123456789"));
  EXPECT_EQ(s.api_keys[1].value, hasher->stored("bob-value-0123456789ab"));
  EXPECT_EQ(s.api_keys[0].name, "alice");  // nothing else changed

  // Once on, for good: a second call hashes nothing again.
  EXPECT_EQ(hash_stored_keys(store, hashing), 0u);
  EXPECT_EQ(store.load_control_state().api_keys[0].value, s.api_keys[0].value);
}

TEST_F(KeyHashingTest, SecretIsOwnerOnlyAndSharedByEveryProcessOfTheDirectory) {
  put_keys();
  hash_stored_keys(store, KeyHashing(dir));
  const auto status = std::filesystem::status(key_secret_path(dir));
  EXPECT_EQ(status.permissions() & std::filesystem::perms::mask,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(std::filesystem::file_size(key_secret_path(dir)), 65u);
  // Another process: same secret read back, same digests.
  const ControlState s = store.load_control_state();
  EXPECT_EQ(KeyHashing(dir).stored_value(s, "alice-value-0123456789"), s.api_keys[0].value);
}

TEST_F(KeyHashingTest, PlainStoreKeepsValuesAsGiven) {
  put_keys();
  const ControlState s = store.load_control_state();
  EXPECT_FALSE(s.keys_hashed);
  EXPECT_EQ(KeyHashing(dir).hasher_for(s), nullptr);
  EXPECT_EQ(KeyHashing(dir).stored_value(s, "as-given-0123456789ab"), "as-given-0123456789ab");
  EXPECT_FALSE(std::filesystem::exists(key_secret_path(dir)));
}

TEST_F(KeyHashingTest, MissingOrDamagedSecretIsAnErrorNamingTheFile) {
  put_keys();
  hash_stored_keys(store, KeyHashing(dir));
  const ControlState s = store.load_control_state();
  std::filesystem::remove(key_secret_path(dir));
  try {
    KeyHashing(dir).hasher_for(s);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(key_secret_path(dir).string()), std::string::npos)
        << e.what();
  }
  std::ofstream(key_secret_path(dir)) << "not hex\n";
  EXPECT_THROW(KeyHashing(dir).hasher_for(s), std::runtime_error);
}

}  // namespace
}  // namespace tollgate
