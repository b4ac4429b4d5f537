#include "http/data_plane.h"

#include <boost/asio/ssl.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "core/ids.h"
#include "core/utc_date.h"
#include "gate/gate.h"
#include "http/backend_request.h"
#include "http/invoke_target.h"
#include "http/ratelimit_fields.h"
#include "http/request_refusal.h"
#include "http/whole_message_parser.h"

namespace tollgate {
namespace {

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

bool is_idempotent(http::verb v) {
  return v == http::verb::get || v == http::verb::head || v == http::verb::options ||
         v == http::verb::put || v == http::verb::delete_ || v == http::verb::trace;
}

void set_mock_reply(Reply& reply, const MockResponse& m) {
  reply.start(static_cast<unsigned>(m.status));
  bool typed = false;
  for (const auto& [name, value] : m.headers) typed = typed || beast::iequals(name, "content-type");
  if (!typed) reply.add("Content-Type", m.content_type);
  for (const auto& [name, value] : m.headers) reply.add(name, value);
  if (!reply.bodiless()) reply.body() = m.body;
}

void add_limit_fields(Reply& reply, const GateDecision& d) {
  if (!d.report.policy) return;
  const RateLimitFields fields(d.report);
  reply.add("RateLimit-Policy", fields.policy());
  reply.add("RateLimit", fields.state());
}

// Sets the refusal for `outcome`; false, so that decide() can return it.
bool refuse(Reply& reply, Outcome outcome) {
  switch (outcome) {
    case Outcome::kMissingToken:
      set_error_reply(reply, 403, "MissingAuthenticationTokenException",
                      "Missing Authentication Token");
      break;
    case Outcome::kThrottled:
      set_error_reply(reply, 429, "TooManyRequestsException", "Too Many Requests");
      break;
    case Outcome::kQuotaExceeded:
      set_error_reply(reply, 429, "LimitExceededException", "Limit Exceeded");
      break;
    default:
      set_error_reply(reply, 403, "ForbiddenException", "Forbidden");
  }
  return false;
}

// The client sent `Expect: 100-continue` (HTTP/1.1 only, RFC 9110 §10.1.1).
bool expects_continue(const InboundMessage& request) {
  return request.version >= 11 &&
         beast::iequals(request.fields.find(http::field::expect), "100-continue");
}

// The target as the access log shows it: a usage page request's query,
// where a customer may have put their key, is left out.
std::string_view logged_target(const InboundMessage& request, const RequestRecord& record) {
  const std::string_view target = request.target;
  return record.outcome == Outcome::kUsagePage ? target.substr(0, target.find('?')) : target;
}

// Text written into a JSON line as a string literal, quotes included,
// straight into the line's buffer.
struct JsonText {
  std::string_view text;
};

}  // namespace
}  // namespace tollgate

template <>
struct fmt::formatter<tollgate::JsonText> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }

  template <typename Context>
  auto format(const tollgate::JsonText& j, Context& ctx) const {
    auto out = ctx.out();
    *out++ = '"';
    for (const char c : j.text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        *out++ = '\\';
        *out++ = c;
      } else if (byte < 0x20 || byte >= 0x7f) {
        // Control bytes and any byte past ASCII (which may not be valid
        // UTF-8) are escaped, so every line stays parseable JSON.
        out = fmt::format_to(out, "\\u{:04x}", byte);
      } else {
        *out++ = c;
      }
    }
    *out++ = '"';
    return out;
  }
};

namespace tollgate {
namespace {

// The upstream request's head: the client's fields less those of its hop
// (and those its Connection field names), the backend's Host, and the body's
// length.
void write_upstream_head(std::string& head, std::string_view method, const RouteMethod& route,
                         const PathParams& params, std::string_view query,
                         const InboundMessage& request) {
  using namespace std::string_view_literals;
  const ClientRequestParts client{params, query, request.fields};
  head.clear();
  head.append(method);
  head += ' ';
  append_backend_target(head, route, client);
  head.append(" HTTP/1.1\r\n"sv);
  const std::string_view connection = request.fields.find(http::field::connection);
  const bool mapped = !route.request_parameters.empty();
  for (std::size_t i = 0; i < request.fields.size(); ++i) {
    const FieldList::Field f = request.fields[i];
    // Expect was settled with the client: tollgate already holds the whole body.
    if (is_hop_by_hop(f.id) || f.id == http::field::host || f.id == http::field::expect ||
        f.id == http::field::content_length)
      continue;
    if (!connection.empty() && connection_lists(connection, f.name)) continue;
    if (mapped && maps_header(route, f.name)) continue;
    append_field(head, f.name, f.value);
  }
  if (mapped) append_mapped_fields(head, route, client);
  append_field(head, "Host", route.backend.host_header);
  if (!request.body.empty() || request.has_body_framing) {
    head.append("Content-Length: "sv);
    append_number(head, request.body.size());
    head.append("\r\n"sv);
  }
  head.append("\r\n"sv);
}

// The client's reply from the backend's response: its status, its fields
// less those of its hop, its body.
void forward_response(Reply& reply, InboundMessage& response, bool head_both_ways) {
  reply.start(response.status);
  // A HEAD or 304 answer's Content-Length describes a body not sent: it
  // stands as the backend gave it.
  const bool keep_length = head_both_ways || response.status == 304;
  const std::string_view connection = response.fields.find(http::field::connection);
  for (std::size_t i = 0; i < response.fields.size(); ++i) {
    const FieldList::Field f = response.fields[i];
    if (is_hop_by_hop(f.id)) continue;
    if (!connection.empty() && connection_lists(connection, f.name)) continue;
    if (f.id == http::field::content_length && !keep_length) continue;
    reply.add(f.name, f.value);
  }
  if (keep_length) reply.keep_given_length();
  std::swap(reply.body(), response.body);
}

}  // namespace

DataPlane::DataPlane(Executor executor, Deadlines& deadlines, const CatalogHolder& catalogs,
                     const Clock& clock, Stats& stats, MetricsRegistry& metrics,
                     AccessLog* access_log, unsigned worker_id,
                     UpstreamPool::Limits upstream_limits, LeaseSource* leases,
                     UsagePage* usage_page)
    : deadlines_(deadlines),
      catalogs_(catalogs),
      clock_(clock),
      stats_(stats),
      metrics_(metrics),
      access_log_(access_log),
      upstreams_(executor, deadlines, upstream_limits, &sends_),
      leases_(leases),
      usage_page_(usage_page),
      // Unique across processes and workers without coordination.
      request_id_prefix_(random_id(8) + "-" + std::to_string(worker_id) + "-") {}

namespace {

// A request's reading phase, for which timeout applies.
enum class ReadPhase : std::uint8_t { kWaiting, kHeader, kBody };

// Moves the deadline on once bytes of a request have come: the header
// timeout runs from its first byte (or from the connection's accept), the
// body timeout from the end of its header.
void advance_read_deadline(ReadPhase& phase, bool header_done, Deadlines::Entry& deadline,
                           const ClientLimits& limits) {
  const ReadPhase next = header_done ? ReadPhase::kBody : ReadPhase::kHeader;
  if (next == phase) return;
  phase = next;
  deadline.set_idle(false);
  deadline.expires_after(next == ReadPhase::kBody ? limits.body_timeout : limits.header_timeout,
                         Deadlines::OnExpiry::kCancel);
}

bool peer_left(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated;
}

using TlsStream = asio::ssl::stream<Socket>;

// Whether a stream is TLS over the socket rather than the socket itself.
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// How long a TLS connection waits for the peer's close_notify once it has
// sent its own.
constexpr std::chrono::seconds kTlsShutdownTimeout{2};

// Counts a worker's open client connections for as long as it lives.
class OpenConnection {
 public:
  explicit OpenConnection(std::atomic<std::uint32_t>& open)
      : open_(open), count_(open.fetch_add(1, std::memory_order_relaxed) + 1) {}
  ~OpenConnection() { open_.fetch_sub(1, std::memory_order_relaxed); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;
  // How many were open with this one.
  std::uint32_t count() const { return count_; }

 private:
  std::atomic<std::uint32_t>& open_;
  std::uint32_t count_;
};

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

Task<void> DataPlane::serve_connection(Socket socket, const ClientLimits& limits,
                                       std::shared_ptr<asio::ssl::context> tls) {
  const OpenConnection open(open_connections_);
  // Far past the limit a connection is not worth even a 503.
  if (open.count() > 2 * std::uint64_t{limits.max_connections}) co_return;
  const bool shed = open.count() > limits.max_connections;
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (!tls) {
    co_await serve_requests(socket, socket, limits, shed);
    co_return;
  }
  // The stream holds the context's SSL_CTX for as long as it lives; `tls`
  // keeps the context itself (a reload replaces it) for as long too.
  TlsStream stream(std::move(socket), *tls);
  co_await serve_requests(stream, stream.next_layer(), limits, shed);
}

// What one connection keeps between the steps of its requests.
struct DataPlane::Connection {
  Connection(Deadlines::Entry& deadline, const ClientLimits& limits)
      : deadline(deadline),
        limits(limits),
        whole_limits{limits.max_header_bytes, limits.max_body_bytes, limits.rules},
        // Bounds what one connection buffers: a pipelining client's later
        // requests wait in the kernel until the earlier ones are answered.
        buffer(limits.max_header_bytes + kReadChunk) {}

  Deadlines::Entry& deadline;
  const ClientLimits& limits;
  const WholeMessageLimits whole_limits;
  beast::flat_buffer buffer;
  Exchange exchange;
  ReadPhase phase = ReadPhase::kHeader;  // a new connection must send its request soon
  // How the current request's read ended.
  beast::error_code read_error;
  bool refused_before_body = false;  // by admissible(); the reply is set
  bool timed_out = false;
  // Whether the connection may stay open after the reply, the client willing:
  // not after a failed read or a refusal before the body, where the next
  // request's start is not known, nor after shedding it.
  bool keep_alive = false;
};

// What the read loop does after the bytes buffered so far are taken.
enum class DataPlane::ReadStep : std::uint8_t {
  kDone,          // the request is read, or its read failed (read_error)
  kReadMore,      // read more into the buffer
  kSendContinue,  // send "100 Continue", then read on
};

// Where a request goes once read.
enum class DataPlane::Next : std::uint8_t {
  kClose,      // nothing to answer: the peer left or sent nothing
  kReply,      // the reply is set
  kUsagePage,  // the customer usage page answers it
  kGate,       // route it and ask the gate
};

template <class Stream>
Task<void> DataPlane::serve_requests(Stream& stream, Socket& socket, const ClientLimits& limits,
                                     bool shed) {
  Deadlines::Entry deadline(deadlines_, socket);
  if constexpr (kIsTls<Stream>) {
    deadline.expires_after(limits.header_timeout);
    auto [handshake_error] =
        co_await stream.async_handshake(asio::ssl::stream_base::server, as_result);
    if (handshake_error) co_return;
  }
  Connection c(deadline, limits);
  for (;;) {
    if (draining_ && c.buffer.size() == 0) break;
    RequestReader reader(c.exchange.request, limits.rules);
    RequestRecord record;
    begin_request(c, reader);
    for (ReadStep step; (step = take_buffered(c, reader, record)) != ReadStep::kDone;) {
      if (step == ReadStep::kSendContinue) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [error, sent] = co_await asio::async_write(stream, asio::buffer(kContinue), as_result);
        c.read_error = error;
      } else {
        auto [error, n] =
            co_await stream.async_read_some(c.buffer.prepare(read_room(c.buffer)), as_result);
        c.read_error = error;
        c.buffer.commit(n);
      }
      if (c.read_error) break;
    }
    end_read(c);
    record.start = std::chrono::steady_clock::now();

    const Next next = answer_locally(c, reader, record, shed);
    if (next == Next::kClose) break;
    if (next == Next::kUsagePage) {
      beast::error_code ignored;
      co_await usage_page_->answer(c.exchange.request, record.catalog,
                                   socket.remote_endpoint(ignored).address(), c.exchange.reply);
    } else if (next == Next::kGate) {
      Decided decided = decide(c.exchange, record);
      if (decided == Decided::kAwaitLease)
        decided = co_await decide_after_lease(c.exchange, record);
      if (decided == Decided::kProxy) {
        const UpstreamRequest upstream = upstream_request(c.exchange, record);
        const UpstreamError error = co_await upstreams_.exchange(
            record.method->backend, upstream, c.exchange.upstream_response,
            std::chrono::milliseconds(record.method->timeout_ms));
        set_proxied_reply(c.exchange, record, error, upstream.head_method);
      }
    }

    const bool keep_alive = keep_alive_after(c);
    finish(c.exchange, record);
    deadline.expires_after(limits.write_timeout);
    const SendBatch::Buffers answer =
        c.exchange.reply.finish(keep_alive, c.exchange.request.version, head_only(c));
    SendBatch::Unsent unsent(answer);
    if constexpr (!kIsTls<Stream>) {
      // Sent with the worker's other sends of this turn (http/send_batch.h).
      if (SendBatch::Slot slot; sends_.queue(slot, socket, answer)) {
        co_await asio::post(socket.get_executor(), as_result);
        if (sends_.settle(slot, unsent)) break;
      }
    }
    if (beast::buffer_bytes(unsent) != 0) {
      auto [write_error, written] = co_await asio::async_write(stream, unsent, as_result);
      if (write_error) break;
    }
    if (!keep_alive) break;
    c.phase = ReadPhase::kWaiting;
  }
  if constexpr (kIsTls<Stream>) {
    deadline.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(as_result);
  } else {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
}

void DataPlane::begin_request(Connection& c, RequestReader& reader) {
  c.deadline.expires_after(
      c.phase == ReadPhase::kWaiting ? c.limits.idle_timeout : c.limits.header_timeout,
      Deadlines::OnExpiry::kCancel);
  c.deadline.set_idle(c.buffer.size() == 0);
  reader.header_limit(c.limits.max_header_bytes);
  reader.body_limit(c.limits.max_body_bytes);
  reader.eager(true);
  c.read_error = {};
  c.refused_before_body = false;
  c.timed_out = false;
  c.keep_alive = false;
}

DataPlane::ReadStep DataPlane::take_buffered(Connection& c, RequestReader& reader,
                                             RequestRecord& record) {
  if (c.buffer.size() != 0) {
    // A request wholly read in a plain form is parsed without Beast.
    if (!reader.got_some()) {
      const std::size_t whole =
          parse_whole_request(as_text(c.buffer.data()), c.whole_limits, c.exchange.request);
      if (whole != 0) {
        c.buffer.consume(whole);
        return ReadStep::kDone;
      }
    }
    c.buffer.consume(reader.put_input(c.buffer.data(), c.read_error));
    if (c.read_error == http::error::need_more)
      c.read_error = {};
    else if (c.read_error || reader.is_done())
      return ReadStep::kDone;
    // A body still to come is not read for a request that will be refused
    // whatever it holds (no route, no valid key).
    if (c.phase != ReadPhase::kBody && reader.is_header_done()) {
      advance_read_deadline(c.phase, true, c.deadline, c.limits);
      if (!admissible(c.exchange, record)) {
        c.refused_before_body = true;
        return ReadStep::kDone;
      }
      // A client holding its body until told to send it is told now.
      if (expects_continue(c.exchange.request)) return ReadStep::kSendContinue;
    }
    advance_read_deadline(c.phase, reader.is_header_done(), c.deadline, c.limits);
  }
  if (read_room(c.buffer) == 0) {
    c.read_error = http::error::buffer_overflow;
    return ReadStep::kDone;
  }
  return ReadStep::kReadMore;
}

std::size_t DataPlane::read_room(const beast::flat_buffer& buffer) {
  return std::min(kReadChunk, buffer.max_size() - buffer.size());
}

void DataPlane::end_read(Connection& c) {
  c.timed_out = c.deadline.expired();
  // While the request is handled the upstream exchange has its own deadline.
  c.deadline.expires_never();
  c.deadline.set_idle(false);
}

DataPlane::Next DataPlane::answer_locally(Connection& c, const RequestReader& reader,
                                          RequestRecord& record, bool shed) {
  const InboundMessage& request = c.exchange.request;
  Reply& reply = c.exchange.reply;
  if (c.refused_before_body) return Next::kReply;  // the connection closes, its body unread
  if (c.read_error) {
    if (!reader.got_some() || (!c.timed_out && peer_left(c.read_error))) return Next::kClose;
    const Refusal refusal = c.timed_out ? Refusal{408, "Request timed out"}
                                        : read_refusal(c.read_error, reader.fault());
    set_error_reply(reply, refusal.status, "BadRequestException", refusal.message);
    record.outcome = Outcome::kBadRequest;
    return Next::kReply;
  }
  if (shed) {
    set_error_reply(reply, 503, "ServiceUnavailableException", "Too many connections; retry later");
    reply.add("Retry-After", "1");
    record.outcome = Outcome::kShed;
    return Next::kReply;
  }
  c.keep_alive = request.keep_alive;
  const DecidingFields fields = deciding_fields(request);
  record.api_key = fields.api_key;
  std::string_view problem = target_problem(request.target);
  if (problem.empty()) problem = fields.problem;
  if (!problem.empty()) {
    set_error_reply(reply, 400, "BadRequestException", problem);
    record.outcome = Outcome::kBadRequest;
    return Next::kReply;
  }
  if (usage_page_ && usage_page_->serves(request.target)) {
    record.outcome = Outcome::kUsagePage;
    record.catalog = catalogs_.get();
    return Next::kUsagePage;
  }
  return Next::kGate;
}

bool DataPlane::keep_alive_after(const Connection& c) const {
  // A drain begun while the request was handled closes the connection after it.
  return c.keep_alive && !draining_;
}

bool DataPlane::head_only(const Connection& c) {
  return c.exchange.request.verb == http::verb::head && !c.read_error && !c.refused_before_body;
}

void DataPlane::drain() {
  draining_ = true;
  deadlines_.close_idle();
}

const StageEntry* DataPlane::route(Exchange& exchange, RequestRecord& record,
                                   std::uint32_t& index) {
  const InboundMessage& request = exchange.request;
  // The snapshot the request started with, taken when it was first routed:
  // a reload never changes a request in flight.
  if (!record.catalog) record.catalog = catalogs_.get();
  InvokeTarget target;
  record.outcome = Outcome::kMissingToken;
  if (!record.catalog ||
      !parse_invoke_target(request.fields.find(http::field::host), request.target, target))
    return nullptr;
  record.api = target.api_id;
  record.stage = target.stage;
  record.query = target.query;
  record.outcome = Outcome::kForbidden;
  const StageEntry* stage = record.catalog->stage(target.api_id, target.stage);
  if (!stage) return nullptr;
  index = stage->routes.match(target.path, request.method, record.params);
  record.outcome = Outcome::kMissingToken;
  if (index == RouteTree::kNoMatch) return nullptr;
  record.stage_entry = stage;
  record.method_index = index;
  record.method = &stage->methods[index];
  return stage;
}

bool DataPlane::admissible(Exchange& exchange, RequestRecord& record) {
  const DecidingFields fields = deciding_fields(exchange.request);
  record.api_key = fields.api_key;
  if (!fields.problem.empty()) {
    set_error_reply(exchange.reply, 400, "BadRequestException", fields.problem);
    record.outcome = Outcome::kBadRequest;
    return false;
  }
  if (usage_page_ && usage_page_->serves(exchange.request.target)) return true;
  std::uint32_t index = 0;
  const StageEntry* stage = route(exchange, record, index);
  if (!stage) return refuse(exchange.reply, record.outcome);
  if (key_may_call(*record.catalog, *stage, index, record.api_key)) return true;
  record.outcome = Outcome::kForbidden;
  return refuse(exchange.reply, record.outcome);
}

DataPlane::Decided DataPlane::decide(Exchange& exchange, RequestRecord& record) {
  std::uint32_t index = 0;
  const StageEntry* stage = route(exchange, record, index);
  if (!stage) {
    refuse(exchange.reply, record.outcome);
    return Decided::kReplied;
  }
  record.decided_at = clock_.now();
  record.decision = admit(*record.catalog, *stage, index, record.api_key, record.decided_at);
  return act_on(exchange, record);
}

DataPlane::Decided DataPlane::act_on(Exchange& exchange, RequestRecord& record) {
  Reply& reply = exchange.reply;
  const GateDecision& decision = record.decision;
  switch (decision.verdict) {
    case Verdict::kForbidden:
      record.outcome = Outcome::kForbidden;
      refuse(reply, record.outcome);
      return Decided::kReplied;
    case Verdict::kAwaitLease:
      if (leases_) return Decided::kAwaitLease;
      [[fallthrough]];  // no source of leases: the quota cannot be had
    case Verdict::kThrottled:
    case Verdict::kQuotaExceeded: {
      record.outcome =
          decision.verdict == Verdict::kThrottled ? Outcome::kThrottled : Outcome::kQuotaExceeded;
      refuse(reply, record.outcome);
      char seconds[24];
      const char* end =
          std::to_chars(seconds, seconds + sizeof seconds, decision.retry_after_s).ptr;
      reply.add("Retry-After", {seconds, static_cast<std::size_t>(end - seconds)});
      add_limit_fields(reply, decision);
      return Decided::kReplied;
    }
    case Verdict::kAllow:
      break;
  }
  const RouteMethod& method = *record.method;
  if (method.type != IntegrationType::kMock) return Decided::kProxy;
  record.outcome = Outcome::kAllowed;
  set_mock_reply(reply, method.mock);
  add_limit_fields(reply, decision);
  return Decided::kReplied;
}

namespace {

// A request's wait for a quota lease, shared with the lease source's
// callback. Touched only on the worker's thread: the callback posts there.
// Holds no asio object, so that it may outlive the worker's io_context.
struct LeaseWait {
  std::optional<LeaseOutcome> outcome;
  asio::steady_timer* timer = nullptr;  // null once the request stopped waiting
};

constexpr std::chrono::milliseconds kLeaseWaitLimit{1000};
// A lease can run out again before a waiting request decides; it asks again
// this many times before it is refused.
constexpr int kLeaseAttempts = 8;

}  // namespace

Task<DataPlane::Decided> DataPlane::decide_after_lease(Exchange& exchange, RequestRecord& record) {
  // decide() routed the request in its snapshot; the key is found once.
  const Catalog& catalog = *record.catalog;
  const PresentedKey key = present_key(catalog, *record.stage_entry, record.api_key);
  const Executor executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  bool unavailable = false;
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    const std::optional<QuotaClaim> claim = quota_claim(catalog, key, clock_.now());
    if (!claim) break;
    const auto wait = std::make_shared<LeaseWait>();
    wait->timer = &timer;
    timer.expires_after(kLeaseWaitLimit);
    leases_->request(*claim, [wait, executor](LeaseOutcome outcome) {
      asio::post(executor, [wait, outcome] {
        wait->outcome = outcome;
        if (wait->timer) wait->timer->cancel();
      });
    });
    co_await timer.async_wait(as_result);
    wait->timer = nullptr;
    unavailable = !wait->outcome || *wait->outcome == LeaseOutcome::kUnavailable;
    if (unavailable) break;
    record.decided_at = clock_.now();
    record.decision =
        admit(catalog, *record.stage_entry, record.method_index, key, record.decided_at);
    if (const Decided decided = act_on(exchange, record); decided != Decided::kAwaitLease)
      co_return decided;
  }
  // A lease may have come for another request meanwhile.
  record.decided_at = clock_.now();
  record.decision =
      admit(catalog, *record.stage_entry, record.method_index, key, record.decided_at);
  if (const Decided decided = act_on(exchange, record); decided != Decided::kAwaitLease)
    co_return decided;
  Reply& reply = exchange.reply;
  if (unavailable) {
    record.outcome = Outcome::kShed;
    set_error_reply(
        reply, 503, "ServiceUnavailableException",
        "The key's quota cannot be checked now (its store is unreachable); retry later");
  } else {
    // Other requests took each lease before this one could: the quota's
    // last units are being spent, on this node or others.
    count_quota_refusal(key, clock_.now());
    record.outcome = Outcome::kQuotaExceeded;
    refuse(reply, record.outcome);
  }
  reply.add("Retry-After", "1");
  co_return Decided::kReplied;
}

UpstreamRequest DataPlane::upstream_request(Exchange& exchange, RequestRecord& record) {
  const InboundMessage& request = exchange.request;
  const RouteMethod& method = *record.method;
  const std::string_view upstream_method = method.backend_method.empty()
                                               ? std::string_view(request.method)
                                               : std::string_view(method.backend_method);
  const http::verb verb =
      method.backend_method.empty() ? request.verb : http::string_to_verb(upstream_method);
  write_upstream_head(exchange.upstream_head, upstream_method, method, record.params, record.query,
                      request);
  record.sent = std::chrono::steady_clock::now();
  return {exchange.upstream_head, request.body, is_idempotent(verb), verb == http::verb::head};
}

void DataPlane::set_proxied_reply(Exchange& exchange, RequestRecord& record, UpstreamError error,
                                  bool head_upstream) {
  record.upstream_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - record.sent)
                           .count();
  record.outcome = error == UpstreamError::kNone ? Outcome::kAllowed : Outcome::kUpstreamError;
  switch (error) {
    case UpstreamError::kNone:
      forward_response(exchange.reply, exchange.upstream_response,
                       head_upstream && exchange.request.verb == http::verb::head);
      add_limit_fields(exchange.reply, record.decision);
      return;
    case UpstreamError::kTimeout:
      return set_error_reply(exchange.reply, 504, "GatewayTimeoutException",
                             "Endpoint request timed out");
    case UpstreamError::kOverflow:
      // Refused before the backend had it: not billed, not charged.
      refund(*record.catalog, *record.stage_entry, record.method_index, record.api_key,
             record.decided_at);
      record.outcome = Outcome::kShed;
      set_error_reply(exchange.reply, 503, "ServiceUnavailableException",
                      "Too many requests waiting for the integration endpoint; retry later");
      return exchange.reply.add("Retry-After", "1");
    case UpstreamError::kUnreachable:
    case UpstreamError::kBadResponse:
      return set_error_reply(exchange.reply, 502, "BadGatewayException",
                             "Bad Gateway: the integration endpoint could not be reached");
  }
}

void DataPlane::finish(Exchange& exchange, RequestRecord& record) {
  char id[48];
  const std::size_t prefix = std::min(request_id_prefix_.size(), sizeof id - 24);
  std::memcpy(id, request_id_prefix_.data(), prefix);
  const auto end = std::to_chars(id + prefix, id + sizeof id, ++request_sequence_).ptr;
  const std::string_view request_id(id, static_cast<std::size_t>(end - id));
  exchange.reply.add("x-amzn-RequestId", request_id);

  stats_.count(record.outcome);
  (record.method && record.method->counters ? *record.method->counters : metrics_.unrouted())
      .count(record.outcome);
  const std::int64_t total_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - record.start)
                                    .count();
  metrics_.overhead().observe_ns(total_ns - record.upstream_ns);
  if (record.upstream_ns > 0) metrics_.upstream().observe_ns(record.upstream_ns);
  if (access_log_.enabled())
    log_access(exchange.request, exchange.reply, record, request_id, total_ns);
}

namespace {

// Appends "yyyy-MM-ddTHH:mm:ss.mmmZ" for milliseconds since the epoch, two
// of which every access log line has: written digit by digit, a tenth of
// what a format string with widths costs.
void append_utc_time(std::string& out, std::int64_t ms) {
  const std::int64_t seconds = ms / 1000;
  const std::int64_t in_day = seconds % 86400;
  const CivilDate date = civil_from_days(seconds / 86400);
  char text[] = "0000-00-00T00:00:00.000Z";
  const auto put = [&text](std::size_t at, std::int64_t n, std::size_t digits) {
    for (std::size_t i = digits; i-- > 0; n /= 10) text[at + i] = static_cast<char>('0' + n % 10);
  };
  put(0, date.year, 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, in_day / 3600, 2);
  put(14, in_day / 60 % 60, 2);
  put(17, in_day % 60, 2);
  put(20, ms % 1000, 3);
  out.append(text, sizeof text - 1);
}

// Whether the gate admitted the request and its integration had it: the
// request is billed, on the day it was admitted.
bool admitted(const RequestRecord& record) {
  return record.outcome == Outcome::kAllowed || record.outcome == Outcome::kUpstreamError;
}

}  // namespace

void DataPlane::log_access(const InboundMessage& request, const Reply& reply,
                           const RequestRecord& record, std::string_view request_id,
                           std::int64_t total_ns) {
  std::string& out = access_log_.line();
  const GateDecision& d = record.decision;
  fmt::format_to(std::back_inserter(out), "{{\"requestId\":\"{}\",\"time\":\"", request_id);
  append_utc_time(out, clock_.now() / 1'000'000);
  if (admitted(record) && record.decided_at > 0) {
    out += "\",\"admittedAt\":\"";
    append_utc_time(out, record.decided_at / 1'000'000);
  }
  fmt::format_to(
      std::back_inserter(out),
      "\",\"api\":{},\"stage\":{},\"resource\":{},\"method\":{},\"path\":{},\"status\":{},"
      "\"keyId\":{},\"customerId\":{},\"plan\":{},\"outcome\":\"{}\",\"limit\":{},\"bytesIn\":{},"
      "\"bytesOut\":{},\"latencyMs\":{:.3f},\"upstreamMs\":{:.3f}}}\n",
      JsonText{record.api}, JsonText{record.stage},
      JsonText{record.method ? std::string_view(record.method->resource_path) : ""},
      JsonText{request.method}, JsonText{logged_target(request, record)}, reply.status(),
      JsonText{d.key_id},
      JsonText{d.key_id.empty() ? std::string_view() : KeyTable::customer_after(d.key_id)},
      JsonText{d.plan_id}, outcome_name(record.outcome),
      JsonText{d.report.policy ? d.report.policy : ""}, request.body.size(), reply.body().size(),
      static_cast<double>(total_ns) / 1e6, static_cast<double>(record.upstream_ns) / 1e6);
  access_log_.line_done();
}

}  // namespace tollgate
