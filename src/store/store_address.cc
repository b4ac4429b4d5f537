#include "store/store_address.h"

#include <fstream>
#include <stdexcept>
#include <system_error>

#include "core/ids.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"

namespace tollgate {

StoreAddress StoreAddress::parse(std::string_view text, const std::filesystem::path& data_dir) {
  StoreAddress a;
  if (text.empty() || text == "sqlite") {
    a.sqlite_dir = data_dir;
  } else if (text.starts_with("sqlite:") && text.size() > 7) {
    a.sqlite_dir = std::string(text.substr(7));
  } else if (is_redis_url(text)) {
    a.on_redis = true;
    a.redis = RedisAddress::parse(text);
  } else {
    throw std::invalid_argument("store '" + std::string(text) +
                                "' must be sqlite, sqlite:DIR, redis://HOST:PORT[/DB] or "
                                "redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]");
  }
  return a;
}

std::filesystem::path database_path(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (!ec)
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  if (ec)
    throw std::runtime_error("data directory " + data_dir.string() +
                             " cannot be made owner-only: " + ec.message() +
                             " (it must be this user's, or creatable by it)");
  return data_dir / "tollgate.db";
}

bool holds_sqlite_store(const std::filesystem::path& data_dir) {
  return std::filesystem::exists(data_dir / "tollgate.db");
}

std::string node_name(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_dir / "node-id";
  std::string name;
  std::ifstream(file) >> name;
  if (!name.empty()) return name;
  name = random_id(12);
  std::ofstream out(file);
  out << name << '\n';
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return name;
}

std::unique_ptr<Store> open_store(const StoreAddress& address, const std::string& node,
                                  RedisMetrics* metrics) {
  if (address.on_redis) return std::make_unique<RedisStore>(address.redis, node, metrics);
  return std::make_unique<SqliteStore>(database_path(address.sqlite_dir));
}

}  // namespace tollgate
