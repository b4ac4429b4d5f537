#pragma once

#include <chrono>
#include <string>

#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "gate/gate.h"
#include "http/access_log.h"
#include "http/deadlines.h"
#include "http/executor.h"
#include "http/message_reader.h"
#include "http/reply.h"
#include "http/upstream_pool.h"

namespace tollgate {

// What one client connection reuses from request to request, so that a
// connection in its steady state serves without allocating.
struct Exchange {
  InboundMessage request;
  Reply reply;
  std::string upstream_head;
  InboundMessage upstream_response;
};

// What one request did, for its metrics and its access-log line.
struct RequestRecord {
  std::chrono::steady_clock::time_point start;
  std::int64_t upstream_ns = 0;
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
  DataPlane(Executor executor, Deadlines& deadlines, const CatalogHolder& catalogs, const Clock& clock,
            Stats& stats, MetricsRegistry& metrics, AccessLog* access_log, unsigned worker_id);

  // Answers `exchange.request` into `exchange.reply`.
  Task<void> handle(Exchange& exchange);
  // Hands buffered access-log lines to the writer; call now and then.
  void flush_access_log() { access_log_.flush(); }
  const UpstreamPool& upstreams() const { return upstreams_; }

 private:
  Task<void> serve(Exchange& exchange, const Catalog* catalog, RequestRecord& record);
  Task<void> proxy(const RouteMethod& method, const PathParams& params, std::string_view query, Exchange& exchange,
                   RequestRecord& record);
  void finish(Exchange& exchange, RequestRecord& record);
  void log_access(const InboundMessage& request, const Reply& reply, const RequestRecord& record,
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
