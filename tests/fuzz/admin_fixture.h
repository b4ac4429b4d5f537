#pragma once

// A management API over a real SQLite store in a temporary directory, for
// the fuzz targets: requests are signed as the AWS CLI would sign them, so
// each input reaches the operation it names.

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "admin/admin_api.h"
#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/key_plan_ids.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "limits/limit_states.h"
#include "metering/counter_file.h"
#include "metering/meter.h"
#include "store/sqlite_store.h"

namespace tollgate {

class AdminFixture {
 public:
  AdminFixture()
      : dir_(make_dir()),
        store_(dir_ / "tollgate.db"),
        counters_(dir_ / "counters"),
        meter_(store_, counters_, clock_, {}, &ids_),
        limits_(&ids_),
        api_(AdminContext{store_, meter_, limits_, clock_}, {credentials()}, catalogs_, stats_,
             AdminApi::Gauges{metrics_, [] { return std::size_t{0}; },
                              [] { return std::size_t{0}; }}) {
    spdlog::set_level(spdlog::level::off);  // a line per input would slow the fuzzer tenfold
  }
  ~AdminFixture() { std::filesystem::remove_all(dir_); }

  // Signs and answers one request.
  HttpResponse call(http::verb method, std::string target, std::string body) {
    HttpRequest request{method, target, 11};
    request.set(http::field::host, "localhost");
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    request.prepare_payload();
    sign_sigv4(request, credentials(), "us-east-1", clock_.now() / kNanosPerSecond);
    return api_.respond(request);
  }

 private:
  static std::filesystem::path make_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tollgate-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
  }
  static AdminCredentials credentials() {
    return {"AKIDFUZZFUZZFUZZFUZZ", "fuzz-secret-fuzz-secret-fuzz-secret-0000"};
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  SqliteStore store_;
  CounterFile counters_;
  KeyPlanIds ids_;
  Meter meter_;
  LimitStates limits_;
  CatalogHolder catalogs_;
  Stats stats_;
  MetricsRegistry metrics_;
  AdminApi api_;
};

// A 5xx from bad input is a bug: it must be a 4xx naming the problem.
inline void require_client_error_or_success(const HttpResponse& response) {
  if (response.result_int() >= 500) {
    std::fprintf(stderr, "answered %u: %s\n", response.result_int(), response.body().c_str());
    __builtin_trap();
  }
}

}  // namespace tollgate
