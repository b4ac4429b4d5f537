#pragma once

// Where a store is, in the one form every command takes (`serve --store`,
// `apply --store`, `migrate --from/--to`, the client commands):
//
//   "" or "sqlite"            the SQLite file in the command's data directory
//   "sqlite:DIR"              the SQLite file in DIR
//   "redis://HOST:PORT[/DB]"  a Redis shared by several nodes
//   "redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/redis_client.h"
#include "store/store.h"

namespace tollgate {

struct StoreAddress {
  // Throws std::invalid_argument naming `text` and the forms above.
  // `data_dir`: the command's data directory, for "" and "sqlite".
  static StoreAddress parse(std::string_view text, const std::filesystem::path& data_dir);

  bool on_redis = false;
  std::filesystem::path sqlite_dir;  // holding the SQLite file, when not on Redis
  RedisAddress redis;
};

// The SQLite file under a data directory, the directory created owner-only
// if missing.
std::filesystem::path database_path(const std::filesystem::path& data_dir);

// Whether a data directory holds a tollgate SQLite store.
bool holds_sqlite_store(const std::filesystem::path& data_dir);

// This node's name among those sharing a Redis: made once, kept in
// DATA_DIR/node-id, since the node's usage counter file is in DATA_DIR too.
std::string node_name(const std::filesystem::path& data_dir);

// Opens the store at `address`. On Redis, `node` names the node whose
// leases and counts it holds ("cli" for a one-shot command, which counts
// nothing), and `metrics`, when given, counts its traffic.
std::unique_ptr<Store> open_store(const StoreAddress& address, const std::string& node,
                                  RedisMetrics* metrics = nullptr);

}  // namespace tollgate
