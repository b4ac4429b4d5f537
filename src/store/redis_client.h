#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"

namespace tollgate {

// Where a Redis server is: redis://HOST:PORT[/DB], or, for a master that
// Redis Sentinel watches and fails over,
// redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB].
struct RedisAddress {
  std::string host;  // with Sentinel: the master's, as last resolved
  int port = 6379;
  int db = 0;
  std::vector<std::pair<std::string, int>> sentinels;
  std::string master_name;

  // Throws std::invalid_argument naming the URL.
  static RedisAddress parse(std::string_view url);
  std::string to_string() const;
};

// Whether `store` names a Redis (either form above).
bool is_redis_url(std::string_view store);

// Connects to the address's Redis: to its host and port, or to the master
// its sentinels name now (asked in turn). Null, with `error` set, when none
// can be reached.
redisContext* connect_to_master(const RedisAddress& address, timeval timeout, std::string& error);

struct RedisReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyFree>;

// A command as its arguments, binary-safe.
using RedisCommand = std::vector<std::string>;

// What a node's Redis connections did, for /metrics; shared by them all.
struct RedisMetrics {
  Histogram latency;  // a batch of commands, from sending to the last answer
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> commands{0};
  // Values Redis answered with, counting each element of an array (at any
  // depth): what the node read, which tests bound per operation.
  std::atomic<std::uint64_t> reply_values{0};
  std::atomic<std::uint64_t> failures{0};  // batches that found Redis unreachable or failing
  std::atomic<bool> reachable{true};       // as the last batch found it

  // tollgate_redis_* lines in Prometheus's text format.
  void render(std::string& out) const;
};

// One synchronous connection to Redis, for the control plane: commands are
// sent whole and their replies read, under a mutex, within a timeout. A
// connection that failed is made again at the next call. Redis being
// unreachable or failing is StoreUnavailable; an error reply is
// std::runtime_error.
class RedisClient {
 public:
  RedisClient(RedisAddress address, RedisMetrics* metrics = nullptr,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  RedisReply run(const RedisCommand& command);
  // Sends every command at once and reads their replies, in order.
  std::vector<RedisReply> pipeline(const std::vector<RedisCommand>& commands);
  const RedisAddress& address() const { return address_; }

 private:
  void connect_locked();
  void drop_locked();
  [[noreturn]] void fail_locked(const std::string& what);
  RedisReply read_locked();

  RedisAddress address_;
  RedisMetrics* metrics_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;
};

// A reply's text (a string or a status), or its integer as text; "" for nil.
std::string reply_text(const redisReply& r);
// A reply's integer (an integer, or a string of digits); 0 for nil.
long long reply_integer(const redisReply& r);

}  // namespace tollgate
