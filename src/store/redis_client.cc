#include "store/redis_client.h"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

#include "store/store.h"

namespace tollgate {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

int parse_number(std::string_view text, std::string_view url, const char* what) {
  int n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n < 0)
    throw std::invalid_argument("Redis address '" + std::string(url) + "' has a bad " + what);
  return n;
}

}  // namespace

namespace {

constexpr std::string_view kPlainScheme = "redis://";
constexpr std::string_view kSentinelScheme = "redis-sentinel://";

// "HOST[:PORT]", the port `default_port` when not given.
std::pair<std::string, int> host_port(std::string_view text, int default_port,
                                      std::string_view url) {
  int port = default_port;
  if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    port = parse_number(text.substr(colon + 1), url, "port");
    text = text.substr(0, colon);
  }
  if (text.empty() || port == 0 || port > 65535)
    throw std::invalid_argument("Redis address '" + std::string(url) + "' needs a host and a port");
  return {std::string(text), port};
}

}  // namespace

bool is_redis_url(std::string_view store) {
  return store.substr(0, kPlainScheme.size()) == kPlainScheme ||
         store.substr(0, kSentinelScheme.size()) == kSentinelScheme;
}

RedisAddress RedisAddress::parse(std::string_view url) {
  RedisAddress a;
  const bool sentinel = url.substr(0, kSentinelScheme.size()) == kSentinelScheme;
  if (!sentinel && url.substr(0, kPlainScheme.size()) != kPlainScheme)
    throw std::invalid_argument(
        "Redis address '" + std::string(url) +
        "' must be redis://HOST:PORT[/DB] or redis-sentinel://HOST:PORT[,...]/MASTER[/DB]");
  std::string_view rest = url.substr(sentinel ? kSentinelScheme.size() : kPlainScheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  rest = rest.substr(0, slash);
  if (sentinel) {
    const std::size_t next = path.find('/');
    a.master_name = std::string(path.substr(0, next));
    path = next == std::string_view::npos ? std::string_view() : path.substr(next + 1);
    if (a.master_name.empty())
      throw std::invalid_argument("Redis address '" + std::string(url) +
                                  "' needs the master's name after the sentinels");
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      a.sentinels.push_back(host_port(rest.substr(0, comma), 26379, url));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (a.sentinels.empty())
      throw std::invalid_argument("Redis address '" + std::string(url) + "' names no sentinel");
  } else {
    std::tie(a.host, a.port) = host_port(rest, 6379, url);
  }
  if (!path.empty()) a.db = parse_number(path, url, "database number");
  return a;
}

std::string RedisAddress::to_string() const {
  if (sentinels.empty())
    return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
  std::string out(kSentinelScheme);
  for (std::size_t i = 0; i < sentinels.size(); ++i)
    out += (i ? "," : "") + sentinels[i].first + ":" + std::to_string(sentinels[i].second);
  return out + "/" + master_name + "/" + std::to_string(db);
}

redisContext* connect_to_master(const RedisAddress& address, timeval timeout, std::string& error) {
  std::string host = address.host;
  int port = address.port;
  if (!address.sentinels.empty()) {
    host.clear();
    for (const auto& [sentinel_host, sentinel_port] : address.sentinels) {
      redisContext* s = redisConnectWithTimeout(sentinel_host.c_str(), sentinel_port, timeout);
      if (s && !s->err && redisSetTimeout(s, timeout) == REDIS_OK) {
        RedisReply r(static_cast<redisReply*>(
            redisCommand(s, "SENTINEL get-master-addr-by-name %s", address.master_name.c_str())));
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
          host = reply_text(*r->element[0]);
          port = static_cast<int>(reply_integer(*r->element[1]));
        }
      }
      if (s) redisFree(s);
      if (!host.empty()) break;
    }
    if (host.empty()) {
      error = "no sentinel named a master '" + address.master_name + "'";
      return nullptr;
    }
  }
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
  if (!c || c->err) {
    error = c && c->errstr[0] ? c->errstr : "cannot connect";
    if (c) redisFree(c);
    return nullptr;
  }
  return c;
}

RedisClient::RedisClient(RedisAddress address, RedisMetrics* metrics,
                         std::chrono::milliseconds timeout)
    : address_(std::move(address)), metrics_(metrics), timeout_(timeout) {
  std::lock_guard lock(mutex_);
  connect_locked();
}

RedisClient::~RedisClient() { drop_locked(); }

void RedisClient::drop_locked() {
  if (context_) redisFree(context_);
  context_ = nullptr;
}

void RedisClient::fail_locked(const std::string& what) {
  const std::string reason = context_ && context_->errstr[0] ? context_->errstr : "no connection";
  drop_locked();
  throw StoreUnavailable("Redis at " + address_.to_string() + " " + what + ": " + reason);
}

void RedisClient::connect_locked() {
  if (context_) return;
  const timeval tv = to_timeval(timeout_);
  std::string error;
  context_ = connect_to_master(address_, tv, error);
  if (!context_)
    throw StoreUnavailable("Redis at " + address_.to_string() + " cannot be reached: " + error);
  if (redisSetTimeout(context_, tv) != REDIS_OK) fail_locked("cannot be reached");
  if (address_.db != 0) {
    RedisReply r(static_cast<redisReply*>(redisCommand(context_, "SELECT %d", address_.db)));
    if (!r) fail_locked("did not answer");
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string error(r->str, r->len);
      drop_locked();
      throw std::runtime_error("Redis at " + address_.to_string() +
                               " refused its database: " + error);
    }
  }
}

RedisReply RedisClient::read_locked() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || !raw) fail_locked("did not answer");
  RedisReply reply(static_cast<redisReply*>(raw));
  return reply;
}

namespace {

void append(redisContext* c, const RedisCommand& command) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const auto& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

void throw_if_error(const RedisReply& r, const RedisCommand& command) {
  if (r->type == REDIS_REPLY_ERROR)
    throw std::runtime_error("Redis refused " + (command.empty() ? std::string() : command[0]) +
                             ": " + std::string(r->str, r->len));
}

// A server that turned replica (a failover) refuses writes with READONLY,
// and one still loading its data with LOADING: neither is this client's
// master for now.
bool is_not_master(const redisReply& r) {
  if (r.type != REDIS_REPLY_ERROR) return false;
  const std::string_view e(r.str, r.len);
  return e.substr(0, 8) == "READONLY" || e.substr(0, 7) == "LOADING";
}

// Batches larger than this get kPerCommand more time per command.
constexpr std::size_t kLargeBatch = 10000;
constexpr std::chrono::microseconds kPerCommand{5};

}  // namespace

RedisReply RedisClient::run(const RedisCommand& command) {
  return std::move(pipeline({command}).front());
}

namespace {

std::uint64_t values_in(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY) return 1;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < r.elements; ++i) n += r.element[i] ? values_in(*r.element[i]) : 1;
  return n;
}

}  // namespace

std::vector<RedisReply> RedisClient::pipeline(const std::vector<RedisCommand>& commands) {
  std::lock_guard lock(mutex_);
  const auto started = std::chrono::steady_clock::now();
  std::vector<RedisReply> replies;
  try {
    connect_locked();
    // A large batch (a million keys put in one transaction) takes Redis
    // seconds to run: its replies are given time in proportion, so that a
    // batch that went through is not reported as failed.
    const bool large = commands.size() > kLargeBatch;
    const auto allowance = timeout_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                                          kPerCommand * static_cast<std::int64_t>(commands.size()));
    if (large && redisSetTimeout(context_, to_timeval(allowance)) != REDIS_OK)
      fail_locked("cannot be reached");
    for (const auto& command : commands) append(context_, command);
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(read_locked());
    if (large && redisSetTimeout(context_, to_timeval(timeout_)) != REDIS_OK)
      fail_locked("cannot be reached");
  } catch (const StoreUnavailable&) {
    if (metrics_) {
      metrics_->batches.fetch_add(1, std::memory_order_relaxed);
      metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      metrics_->reachable = false;
    }
    throw;
  }
  if (metrics_) {
    metrics_->latency.observe_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
    metrics_->batches.fetch_add(1, std::memory_order_relaxed);
    metrics_->commands.fetch_add(commands.size(), std::memory_order_relaxed);
    std::uint64_t values = 0;
    for (const RedisReply& r : replies) values += values_in(*r);
    metrics_->reply_values.fetch_add(values, std::memory_order_relaxed);
    metrics_->reachable = true;
  }
  for (const RedisReply& r : replies) {
    if (is_not_master(*r)) {
      const std::string error(r->str, r->len);
      drop_locked();
      throw StoreUnavailable("Redis at " + address_.to_string() +
                             " is not the master now: " + error);
    }
  }
  for (std::size_t i = 0; i < commands.size(); ++i) throw_if_error(replies[i], commands[i]);
  return replies;
}

void RedisMetrics::render(std::string& out) const {
  out +=
      "# HELP tollgate_redis_latency_seconds Time from sending a batch of commands to Redis to its "
      "last answer.\n"
      "# TYPE tollgate_redis_latency_seconds histogram\n";
  latency.render(out, "tollgate_redis_latency_seconds", "store=\"redis\"");
  const auto line = [&out](const char* type, const char* name, const char* help,
                           std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  line("counter", "tollgate_redis_batches_total", "Command batches sent to Redis.",
       batches.load(std::memory_order_relaxed));
  line("counter", "tollgate_redis_commands_total", "Commands sent to Redis.",
       commands.load(std::memory_order_relaxed));
  line("counter", "tollgate_redis_reply_values_total", "Values read from Redis's replies.",
       reply_values.load(std::memory_order_relaxed));
  line("counter", "tollgate_redis_failures_total",
       "Batches that found Redis unreachable or failing.",
       failures.load(std::memory_order_relaxed));
  line("gauge", "tollgate_redis_up", "1 when the last batch reached Redis.", reachable ? 1 : 0);
}

std::string reply_text(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r.str, r.len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    default:
      return {};
  }
}

long long reply_integer(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) return r.integer;
  if (r.type != REDIS_REPLY_STRING) return 0;
  long long n = 0;
  std::from_chars(r.str, r.str + r.len, n);
  return n;
}

}  // namespace tollgate
