#pragma once

#include <chrono>

#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "gate/gate.h"
#include "http/access_log.h"
#include "http/beast.h"
#include "http/upstream_pool.h"

namespace tollgate {

// What one request did, for its metrics and its access-log line.
struct RequestRecord {
  std::chrono::steady_clock::time_point start;
  std::int64_t upstream_ns = 0;
  std::size_t bytes_in = 0;
  Outcome outcome = Outcome::kMissingToken;
  std::string_view api;
  std::string_view stage;
  const RouteMethod* method = nullptr;
  GateDecision decision;
};

// One worker's request handler for the data plane: route, gate, integrate,
// then count and log. Lives on one io_context thread; not thread-safe.
class DataPlane {
 public:
  DataPlane(asio::any_io_executor executor, const CatalogHolder& catalogs, const Clock& clock, Stats& stats,
            MetricsRegistry& metrics, AccessLog* access_log, unsigned worker_id);

  asio::awaitable<HttpResponse> handle(HttpRequest& request);
  // Hands buffered access-log lines to the writer; call now and then.
  void flush_access_log() { access_log_.flush(); }
  const UpstreamPool& upstreams() const { return upstreams_; }

 private:
  asio::awaitable<HttpResponse> serve(HttpRequest& request, const Catalog* catalog, RequestRecord& record);
  asio::awaitable<HttpResponse> proxy(const RouteMethod& method, const PathParams& params,
                                      std::string_view query, HttpRequest& request, RequestRecord& record);
  void finish(const HttpRequest& request, HttpResponse& response, RequestRecord& record);
  void log_access(const HttpRequest& request, const HttpResponse& response, const RequestRecord& record,
                  std::string_view request_id, std::int64_t total_ns);

  CatalogView catalogs_;
  const Clock& clock_;
  Stats& stats_;
  MetricsRegistry& metrics_;
  AccessLogBuffer access_log_;
  UpstreamPool upstreams_;
  std::string request_id_prefix_;
  std::uint64_t request_sequence_ = 0;
};

}  // namespace tollgate
