#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "app/gateway.h"
#include "cli/apply.h"
#include "cli/client_commands.h"
#include "store/sqlite_store.h"

namespace {

std::string default_data_dir() {
  const char* env = std::getenv("TOLLGATE_DATA_DIR");
  return env && *env ? env : "tollgate-data";
}

int run_apply(const std::string& file, const std::string& data_dir) {
  const tollgate::Declaration declared = tollgate::load_declaration_file(file);
  tollgate::SqliteStore store(tollgate::database_path(data_dir));
  const tollgate::ApplyReport report =
      tollgate::apply_declaration(store, declared, static_cast<std::int64_t>(std::time(nullptr)));
  for (const auto& line : report.lines) std::cout << line << '\n';
  std::cout << (report.changes == 0 ? "no changes" : std::to_string(report.changes) + " change(s) applied")
            << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tollgate: an API gateway for API keys, usage plans, throttles, quotas and metering"};
  app.require_subcommand(1);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  tollgate::ServeOptions serve_options;
  serve_options.data_dir = default_data_dir();
  std::string data_dir_arg = serve_options.data_dir.string();
  auto* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("--data-dir", data_dir_arg, "Directory holding the SQLite store")->capture_default_str();
  serve->add_option("--listen", serve_options.listen, "Data plane address HOST:PORT")->capture_default_str();
  serve->add_option("--admin-listen", serve_options.admin_listen, "Admin address HOST:PORT")
      ->capture_default_str();
  serve->add_option("--workers", serve_options.workers, "Worker threads (0: one per core)")
      ->check(CLI::Range(0, 256));
  serve->add_option("--access-log", serve_options.access_log,
                    "Access log: a file, - for stdout, or off (default: DATA_DIR/access.log)");
  serve->add_option("--usage-retention-days", serve_options.usage_retention_days,
                    "Days of daily usage kept in the store (0: forever; at least 32, so a monthly "
                    "quota can always be recounted from it)")
      ->capture_default_str()
      ->check([](const std::string& v) {
        const long days = std::strtol(v.c_str(), nullptr, 10);
        return days == 0 || (days >= 32 && days <= 100000) ? std::string() : std::string("must be 0 or 32..100000");
      });

  std::string apply_file;
  std::string apply_data_dir = default_data_dir();
  auto* apply = app.add_subcommand("apply", "Load a YAML declaration into the store (idempotent)");
  apply->add_option("-f,--file", apply_file, "YAML file")->required();
  apply->add_option("--data-dir", apply_data_dir, "Directory holding the SQLite store")->capture_default_str();

  tollgate::ClientCommands client;
  tollgate::add_client_commands(app, client);

  CLI11_PARSE(app, argc, argv);
  try {
    if (client.run) return client.run();
    if (*serve) {
      serve_options.data_dir = data_dir_arg;
      return tollgate::serve(serve_options);
    }
    if (*apply) return run_apply(apply_file, apply_data_dir);
  } catch (const std::exception& e) {
    std::cerr << "tollgate: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
