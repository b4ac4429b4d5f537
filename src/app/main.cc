#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "app/gateway.h"
#include "cli/apply.h"
#include "cli/client_commands.h"
#include "store/key_hashing.h"
#include "store/migrate.h"
#include "store/store_address.h"

namespace {

// A duration option given in seconds, fractions allowed.
CLI::Option* add_seconds(CLI::App* app, const std::string& name, std::chrono::milliseconds& into,
                         const std::string& what) {
  return app
      ->add_option_function<double>(
          name,
          [&into](double s) {
            into = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
          },
          what + " (seconds; default " +
              std::to_string(static_cast<double>(into.count()) / 1000).substr(0, 4) + ")")
      ->check(CLI::Range(0.001, 86400.0));
}

std::string default_data_dir() {
  const char* env = std::getenv("TOLLGATE_DATA_DIR");
  return env && *env ? env : "tollgate-data";
}

// The store a one-shot command works on (see StoreAddress): a Redis needs
// no node name, since the command counts nothing.
std::unique_ptr<tollgate::Store> open_command_store(const std::string& store,
                                                    const std::string& data_dir) {
  return tollgate::open_store(tollgate::StoreAddress::parse(store, data_dir), "cli");
}

int run_apply(const std::string& file, const std::string& data_dir, const std::string& store_url) {
  const tollgate::Declaration declared = tollgate::load_declaration_file(file);
  for (const auto& warning : declared.warnings) std::cerr << "warning: " << warning << '\n';
  const std::unique_ptr<tollgate::Store> store = open_command_store(store_url, data_dir);
  const tollgate::KeyHashing hashing(data_dir);
  const tollgate::ApplyReport report = tollgate::apply_declaration(
      *store, declared, static_cast<std::int64_t>(std::time(nullptr)), &hashing);
  for (const auto& line : report.lines) std::cout << line << '\n';
  std::cout << (report.changes == 0 ? "no changes"
                                    : std::to_string(report.changes) + " change(s) applied")
            << '\n';
  return 0;
}

int run_hash_keys(const std::string& data_dir, const std::string& store_url) {
  const std::unique_ptr<tollgate::Store> store = open_command_store(store_url, data_dir);
  if (store->load_serving_state().keys_hashed) {
    std::cout << "keys were already stored hashed\n";
    return 0;
  }
  const std::size_t hashed = tollgate::hash_stored_keys(*store, tollgate::KeyHashing(data_dir));
  std::cout << hashed << " key value(s) hashed; back up "
            << tollgate::key_secret_path(data_dir).string()
            << " apart from the store: without it no key can be checked\n";
  return 0;
}

// An end of `migrate`; a source must exist.
std::unique_ptr<tollgate::Store> open_migration_end(const std::string& spec, bool source) {
  if (spec.empty() || spec == "sqlite")
    throw std::invalid_argument("'" + spec + "' must name its directory: sqlite:DIR");
  const tollgate::StoreAddress address = tollgate::StoreAddress::parse(spec, {});
  if (source && !address.on_redis && !tollgate::holds_sqlite_store(address.sqlite_dir))
    throw std::invalid_argument("no tollgate store in " + address.sqlite_dir.string());
  return tollgate::open_store(address, "cli");
}

int run_migrate(const std::string& from, const std::string& to) {
  const auto source = open_migration_end(from, true);
  const auto destination = open_migration_end(to, false);
  const tollgate::MigrationReport r = tollgate::migrate_store(*source, *destination);
  std::cout << "migrated " << r.entities << " entities, " << r.usage_rows
            << " daily usage rows and " << r.adjustments << " usage adjustments from " << from
            << " to " << to << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tollgate: an API gateway for API keys, usage plans, throttles, quotas and metering"};
  app.require_subcommand(1);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  tollgate::ServeOptions serve_options;
  serve_options.data_dir = default_data_dir();
  std::string data_dir_arg = serve_options.data_dir.string();
  auto* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("--data-dir", data_dir_arg, "Directory holding the SQLite store")
      ->capture_default_str();
  serve->add_option(
      "--store", serve_options.store,
      "sqlite (DATA_DIR/tollgate.db, the default), or a Redis shared by several nodes: "
      "redis://HOST:PORT[/DB] or redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]");
  serve->add_option("--listen", serve_options.listen, "Data plane address HOST:PORT")
      ->capture_default_str();
  serve->add_option("--admin-listen", serve_options.admin_listen, "Admin address HOST:PORT")
      ->capture_default_str();
  serve->add_option("--workers", serve_options.workers, "Worker threads (0: one per core)")
      ->check(CLI::Range(0, 256));
  serve->add_option("--access-log", serve_options.access_log,
                    "Access log: a file, - for stdout, or off (default: DATA_DIR/access.log)");
  serve
      ->add_option("--usage-retention-days", serve_options.usage_retention_days,
                   "Days of daily usage kept in the store (0: forever; at least 32, so a monthly "
                   "quota can always be recounted from it)")
      ->capture_default_str()
      ->check([](const std::string& v) {
        const long days = std::strtol(v.c_str(), nullptr, 10);
        return days == 0 || (days >= 32 && days <= 100000) ? std::string()
                                                           : std::string("must be 0 or 32..100000");
      });

  // Each listener's certificate and key come together.
  const auto add_tls = [serve](const std::string& prefix, tollgate::TlsFiles& files,
                               const std::string& listener) {
    auto* cert = serve
                     ->add_option("--" + prefix + "tls-cert", files.certificate,
                                  "PEM certificate chain: the " + listener +
                                      " listener serves HTTPS (TLS 1.2+); reread on SIGHUP")
                     ->check(CLI::ExistingFile);
    auto* key = serve
                    ->add_option("--" + prefix + "tls-key", files.private_key,
                                 "PEM private key of --" + prefix + "tls-cert")
                    ->check(CLI::ExistingFile);
    cert->needs(key);
    key->needs(cert);
  };
  add_tls("", serve_options.tls, "data");
  add_tls("admin-", serve_options.admin_tls, "admin");

  tollgate::ClientLimits& limits = serve_options.client_limits;
  serve
      ->add_option("--max-header-bytes", limits.max_header_bytes,
                   "Largest request line and header fields (431)")
      ->capture_default_str()
      ->check(CLI::Range(1024u, 1024u * 1024u));
  serve
      ->add_option("--max-header-fields", limits.rules.max_fields,
                   "Most header fields in a request (431)")
      ->capture_default_str()
      ->check(CLI::Range(8u, 10000u));
  serve->add_option("--max-uri-bytes", limits.rules.max_target, "Longest request target (414)")
      ->capture_default_str()
      ->check(CLI::Range(256u, 1024u * 1024u));
  serve->add_option("--max-body-bytes", limits.max_body_bytes, "Largest request body (413)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32));
  serve
      ->add_option("--max-connections", limits.max_connections,
                   "Client connections per worker; past it requests get 503")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  tollgate::UpstreamPool::Limits& upstream = serve_options.upstream_limits;
  serve
      ->add_option("--max-backend-connections", upstream.max_per_backend,
                   "Connections per worker to one backend; more requests wait for one")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  serve
      ->add_option("--max-backend-waiting", upstream.max_waiting_per_backend,
                   "Requests per worker waiting for a backend connection; past it, 503")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u));
  add_seconds(serve, "--header-timeout", limits.header_timeout,
              "Time for a request's header to arrive, from its first byte (408)");
  add_seconds(serve, "--body-timeout", limits.body_timeout,
              "Time for a request's body to arrive (408)");
  add_seconds(serve, "--idle-timeout", limits.idle_timeout,
              "Time a kept-alive connection may wait idle");
  add_seconds(
      serve, "--reload-interval", serve_options.reload_interval,
      "How often the store is checked for changes (on Redis, changes are also pushed at once)");
  add_seconds(serve, "--drain-timeout", serve_options.drain_timeout,
              "Time SIGTERM waits for requests in flight");
  serve
      ->add_option_function<std::string>(
          "--usage-page",
          [&serve_options](const std::string& path) {
            serve_options.usage_page.path = path == "off" ? "" : path;
          },
          "Path of the customer usage page on the data listener, or off (default /_usage)")
      ->check([](const std::string& path) {
        return path == "off" || (path.size() > 1 && path[0] == '/' && path.back() != '/' &&
                                 path.find_first_of("?#% ") == std::string::npos)
                   ? std::string()
                   : "must be off or a path such as /_usage";
      });
  serve
      ->add_option("--usage-page-rate", serve_options.usage_page.rate,
                   "Usage page answers per second for each client address (bursts of 10)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 10000.0));
  add_seconds(serve, "--quota-lease", serve_options.quota_lease,
              "On Redis: how long a node's quota leases last unless renewed; a dead node's come "
              "back after it")
      ->check(CLI::Range(0.5, 600.0));
  serve->add_flag(
      "--fail-closed", serve_options.fail_closed,
      "On Redis: refuse keyed requests with quotas (503) while Redis is unreachable, rather than "
      "serve them from the quota leases this node holds");

  serve->add_flag(
      "--hash-keys", serve_options.hash_keys,
      "Store API key values as HMAC-SHA256 digests under DATA_DIR/key-secret from now on; "
      "stored values are converted and can never be shown again");

  std::string apply_file;
  std::string apply_data_dir = default_data_dir();
  auto* apply = app.add_subcommand("apply", "Load a YAML declaration into the store (idempotent)");
  apply->add_option("-f,--file", apply_file, "YAML file")->required();
  apply->add_option("--data-dir", apply_data_dir, "Directory holding the SQLite store")
      ->capture_default_str();
  std::string apply_store;
  apply->add_option(
      "--store", apply_store,
      "sqlite (the data directory's, the default), sqlite:DIR or redis://HOST:PORT[/DB]");

  std::string hash_keys_data_dir = default_data_dir();
  auto* hash_keys = app.add_subcommand(
      "hash-keys",
      "Store API key values hashed from now on: each becomes its HMAC-SHA256 digest under "
      "DATA_DIR/key-secret, in one transaction (a running server follows)");
  hash_keys->add_option("--data-dir", hash_keys_data_dir, "Directory holding the SQLite store")
      ->capture_default_str();
  std::string hash_keys_store;
  hash_keys->add_option(
      "--store", hash_keys_store,
      "sqlite (the data directory's, the default), sqlite:DIR or redis://HOST:PORT[/DB]");

  std::string migrate_from;
  std::string migrate_to;
  auto* migrate = app.add_subcommand("migrate",
                                     "Copy control state and usage into an empty store, e.g. from "
                                     "SQLite to Redis (servers stopped)");
  migrate->add_option("--from", migrate_from, "sqlite:DIR or redis://HOST:PORT[/DB]")->required();
  migrate
      ->add_option("--to", migrate_to,
                   "sqlite:DIR or redis://HOST:PORT[/DB], holding no control state")
      ->required();

  tollgate::ClientCommands client;
  tollgate::add_client_commands(app, client);

  CLI11_PARSE(app, argc, argv);
  // The store, the counters, the credentials and the logs are the owner's
  // alone.
  umask(S_IRWXG | S_IRWXO);
  try {
    if (client.run) return client.run();
    if (*serve) {
      serve_options.data_dir = data_dir_arg;
      return tollgate::serve(serve_options);
    }
    if (*apply) return run_apply(apply_file, apply_data_dir, apply_store);
    if (*hash_keys) return run_hash_keys(hash_keys_data_dir, hash_keys_store);
    if (*migrate) return run_migrate(migrate_from, migrate_to);
  } catch (const std::exception& e) {
    std::cerr << "tollgate: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
