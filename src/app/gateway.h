#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace tollgate {

struct ServeOptions {
  std::filesystem::path data_dir = "tollgate-data";
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9180";
  int workers = 0;  // 0: one per core
  std::chrono::milliseconds reload_interval{250};
  std::chrono::milliseconds flush_interval{1000};
  std::int64_t usage_retention_days = 90;
  std::string access_log = "";  // a path, "-" for stdout, "off"; empty: DATA_DIR/access.log
};

// Wires the parts together and serves until SIGINT or SIGTERM: the store, the
// catalog reloader, the meter, one io_context per worker on the data port,
// and the admin listener. Returns the process exit code.
int serve(const ServeOptions& options);

// The SQLite file under a data directory, created owner-only if missing.
std::filesystem::path database_path(const std::filesystem::path& data_dir);

}  // namespace tollgate
