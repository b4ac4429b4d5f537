#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "gate/gate.h"
#include "http/access_log.h"
#include "http/client_limits.h"
#include "http/deadlines.h"
#include "http/executor.h"
#include "http/message_reader.h"
#include "http/reply.h"
#include "http/send_batch.h"
#include "http/upstream_pool.h"
#include "http/usage_page.h"

namespace boost::asio::ssl {
class context;
}

namespace tollgate {

// What one client connection reuses from request to request, so that a
// connection in its steady state serves without allocating.
struct Exchange {
  InboundMessage request;
  Reply reply;
  std::string upstream_head;
  InboundMessage upstream_response;
};

// One request on its way through: where it was routed, what the gate said,
// and what it did, for its metrics and its access-log line.
struct RequestRecord {
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point sent;  // to the backend
  // Held for the whole request: a reload never changes a request in flight.
  std::shared_ptr<const Catalog> catalog;
  std::int64_t upstream_ns = 0;
  Outcome outcome = Outcome::kMissingToken;
  std::string_view api;
  std::string_view stage;
  std::string_view query;
  std::optional<std::string_view> api_key;  // the x-api-key value, if sent
  PathParams params;
  const StageEntry* stage_entry = nullptr;
  std::uint32_t method_index = 0;
  const RouteMethod* method = nullptr;
  GateDecision decision;
  UnixNanos decided_at = 0;  // when the gate decided: an admitted request's instant
};

// One worker's request handler for the data plane: route, gate, integrate,
// then count and log. Lives on one io_context thread; not thread-safe.
class DataPlane {
 public:
  DataPlane(Executor executor, Deadlines& deadlines, const CatalogHolder& catalogs,
            const Clock& clock, Stats& stats, MetricsRegistry& metrics, AccessLog* access_log,
            unsigned worker_id, UpstreamPool::Limits upstream_limits = {},
            LeaseSource* leases = nullptr, UsagePage* usage_page = nullptr);

  // Serves one client connection until the peer closes, asks to close, or a
  // limit or deadline ends it. The steps of a request are plain functions
  // around one co_await on the backend: every nested coroutine frame would
  // be an allocation per request. With `tls`, the connection is TLS: its
  // handshake must end within the header timeout.
  Task<void> serve_connection(Socket socket, const ClientLimits& limits,
                              std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  // Begins a graceful shutdown: idle connections close now, and each busy
  // one closes once its current request is answered.
  void drain();
  // Client connections open now; readable from any thread.
  std::uint32_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }
  // Hands buffered access-log lines to the writer; call now and then.
  void flush_access_log() { access_log_.flush(); }
  const UpstreamPool& upstreams() const { return upstreams_; }
  const SendBatch& sends() const { return sends_; }
  // Closes the kept-alive upstream connections; before the io_context goes.
  void close_idle_upstreams() { upstreams_.close_idle(); }

 private:
  // The requests of one connection, over `stream` (the socket itself, or
  // TLS over it). `shed`: the worker has too many connections for this one.
  template <class Stream>
  Task<void> serve_requests(Stream& stream, Socket& socket, const ClientLimits& limits, bool shed);
  // The plain steps around serve_requests' co_awaits, on what one
  // connection keeps between them.
  struct Connection;
  enum class ReadStep : std::uint8_t;
  enum class Next : std::uint8_t;
  // Arms the deadline for the next request and sets up its reader.
  static void begin_request(Connection& c, RequestReader& reader);
  // Takes what is buffered into the request; says whether to read more, to
  // send 100 Continue first, or that the read is over.
  ReadStep take_buffered(Connection& c, RequestReader& reader, RequestRecord& record);
  static std::size_t read_room(const beast::flat_buffer& buffer);
  static void end_read(Connection& c);
  // Classifies a failed read and answers what needs no route (a bad target
  // or header, shedding); says where the request goes next.
  Next answer_locally(Connection& c, const RequestReader& reader, RequestRecord& record, bool shed);
  bool keep_alive_after(const Connection& c) const;
  static bool head_only(const Connection& c);
  // The stage and method (`index`) the request names, noted in `record`;
  // null when there is none, with the refusal's outcome in `record`.
  const StageEntry* route(Exchange& exchange, RequestRecord& record, std::uint32_t& index);
  // Whether a request whose header is read could be admitted, limits aside;
  // otherwise the reply is set.
  bool admissible(Exchange& exchange, RequestRecord& record);
  // What the gate made of a request.
  enum class Decided : std::uint8_t {
    kProxy,       // to the backend
    kReplied,     // the reply is set
    kAwaitLease,  // the key's quota lease is to be asked for first
  };
  // Routes and gates the request.
  Decided decide(Exchange& exchange, RequestRecord& record);
  // Sets the reply for the gate's decision in `record`, or says to proxy.
  Decided act_on(Exchange& exchange, RequestRecord& record);
  // For a request that got kAwaitLease: waits for the node's lease (the
  // source wakes it), then decides again. Only the first requests of a key
  // on this node, and those that outran a lease's top-up, come here.
  Task<Decided> decide_after_lease(Exchange& exchange, RequestRecord& record);
  UpstreamRequest upstream_request(Exchange& exchange, RequestRecord& record);
  void set_proxied_reply(Exchange& exchange, RequestRecord& record, UpstreamError error,
                         bool head_upstream);
  void finish(Exchange& exchange, RequestRecord& record);
  void log_access(const InboundMessage& request, const Reply& reply, const RequestRecord& record,
                  std::string_view request_id, std::int64_t total_ns);

  Deadlines& deadlines_;
  CatalogView catalogs_;
  const Clock& clock_;
  Stats& stats_;
  MetricsRegistry& metrics_;
  AccessLogBuffer access_log_;
  SendBatch sends_;  // before upstreams_, which uses it
  UpstreamPool upstreams_;
  LeaseSource* leases_;
  UsagePage* usage_page_;
  std::string request_id_prefix_;
  std::uint64_t request_sequence_ = 0;
  std::atomic<std::uint32_t> open_connections_{0};
  bool draining_ = false;
};

}  // namespace tollgate
