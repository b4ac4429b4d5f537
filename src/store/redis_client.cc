#include "store/redis_client.h"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

#include "store/store.h"

namespace tollgate {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

int parse_number(std::string_view text, std::string_view url, const char* what) {
  int n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n < 0)
    throw std::invalid_argument("Redis address '" + std::string(url) + "' has a bad " + what);
  return n;
}

}  // namespace

RedisAddress RedisAddress::parse(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme)
    throw std::invalid_argument("Redis address '" + std::string(url) + "' must be redis://HOST:PORT[/DB]");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    a.db = parse_number(rest.substr(slash + 1), url, "database number");
    rest = rest.substr(0, slash);
  }
  if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    a.port = parse_number(rest.substr(colon + 1), url, "port");
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || a.port == 0 || a.port > 65535)
    throw std::invalid_argument("Redis address '" + std::string(url) + "' needs a host and a port");
  a.host = std::string(rest);
  return a;
}

std::string RedisAddress::to_string() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisClient::RedisClient(RedisAddress address, RedisMetrics* metrics, std::chrono::milliseconds timeout)
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
  context_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (!context_ || context_->err) fail_locked("cannot be reached");
  if (redisSetTimeout(context_, tv) != REDIS_OK) fail_locked("cannot be reached");
  if (address_.db != 0) {
    RedisReply r(static_cast<redisReply*>(redisCommand(context_, "SELECT %d", address_.db)));
    if (!r) fail_locked("did not answer");
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string error(r->str, r->len);
      drop_locked();
      throw std::runtime_error("Redis at " + address_.to_string() + " refused its database: " + error);
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
    throw std::runtime_error("Redis refused " + (command.empty() ? std::string() : command[0]) + ": " +
                             std::string(r->str, r->len));
}

}  // namespace

RedisReply RedisClient::run(const RedisCommand& command) { return std::move(pipeline({command}).front()); }

std::vector<RedisReply> RedisClient::pipeline(const std::vector<RedisCommand>& commands) {
  std::lock_guard lock(mutex_);
  const auto started = std::chrono::steady_clock::now();
  std::vector<RedisReply> replies;
  try {
    connect_locked();
    for (const auto& command : commands) append(context_, command);
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(read_locked());
  } catch (const StoreUnavailable&) {
    if (metrics_) {
      metrics_->batches.fetch_add(1, std::memory_order_relaxed);
      metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      metrics_->reachable = false;
    }
    throw;
  }
  if (metrics_) {
    metrics_->latency.observe_ns(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
    metrics_->batches.fetch_add(1, std::memory_order_relaxed);
    metrics_->reachable = true;
  }
  for (std::size_t i = 0; i < commands.size(); ++i) throw_if_error(replies[i], commands[i]);
  return replies;
}

void RedisMetrics::render(std::string& out) const {
  out += "# HELP tollgate_redis_latency_seconds Time from sending a batch of commands to Redis to its last answer.\n"
         "# TYPE tollgate_redis_latency_seconds histogram\n";
  latency.render(out, "tollgate_redis_latency_seconds", "store=\"redis\"");
  const auto line = [&out](const char* type, const char* name, const char* help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  line("counter", "tollgate_redis_batches_total", "Command batches sent to Redis.",
       batches.load(std::memory_order_relaxed));
  line("counter", "tollgate_redis_failures_total", "Batches that found Redis unreachable or failing.",
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
