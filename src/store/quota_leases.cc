#include "store/quota_leases.h"

#include <stdexcept>

namespace tollgate {
namespace {

constexpr const char* kNodeMarkPrefix = "tollgate:lease-node:";
// In the scripts `0 - x` rather than `-x`: Lua's -0 reaches Redis as "-0",
// which is not an integer to it.

std::string lease_key(const std::string& plan_id, const std::string& key_id,
                      std::int64_t window_id) {
  return "tollgate:quota:" + plan_id + '\x1f' + key_id + ':' + std::to_string(window_id);
}

// KEYS[1]: the lease hash. ARGV: node, limit, used_before, want,
// expire_at_s, spread, op. Returns {units granted, units left to lease,
// 1 if the node must report first}. The node marks are read by name: Redis
// Cluster is not supported.
constexpr const char* kGrant = R"lua(
local key, node, op = KEYS[1], ARGV[1], ARGV[7]
local limit, want, spread = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[6])
if redis.call('HSETNX', key, 'granted', ARGV[3]) == 1 then
  redis.call('EXPIREAT', key, ARGV[5])
end
-- The leases of nodes whose mark expired go back to the quota. What such a
-- node granted earlier is void; what it served it still has to report.
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 5) == 'held:' then
    local other = string.sub(name, 6)
    if other ~= node and redis.call('EXISTS', 'tollgate:lease-node:' .. other) == 0 then
      local held = tonumber(fields[i + 1])
      redis.call('HINCRBY', key, 'granted', 0 - held)
      redis.call('HDEL', key, name, 'grant:' .. other)
      if held > 0 then redis.call('HSET', key, 'gone:' .. other, 1) end
    end
  end
end
local left = limit - tonumber(redis.call('HGET', key, 'granted'))
if redis.call('HEXISTS', key, 'gone:' .. node) == 1 then return {0, math.max(0, left), 1} end
local last = redis.call('HGET', key, 'grant:' .. node)
if last then
  local id, took = string.match(last, '^(%S+) (%d+)$')
  if id == op then return {tonumber(took), math.max(0, left), 0} end
end
local take = math.min(want, math.max(1, math.floor(left / spread)), left)
if take < 0 then take = 0 end
redis.call('HINCRBY', key, 'granted', take)
redis.call('HINCRBY', key, 'held:' .. node, take)
redis.call('HSET', key, 'grant:' .. node, op .. ' ' .. take)
return {take, math.max(0, left - take), 0}
)lua";

// KEYS[1]: the lease hash. ARGV: node, served, returned, release (0 or 1),
// op. A node's report finds its lease held, or taken back (gone:NODE), or
// else given back already by this very report sent before.
constexpr const char* kReport = R"lua(
local key, node, op = KEYS[1], ARGV[1], ARGV[5]
local held_field = 'held:' .. node
if redis.call('EXISTS', key) == 0 then return 0 end
if redis.call('HGET', key, 'report:' .. node) == op then return 0 end
local taken_back = redis.call('HDEL', key, 'gone:' .. node) == 1
if not taken_back and redis.call('HEXISTS', key, held_field) == 0 then return 0 end
local held = redis.call('HINCRBY', key, held_field, 0 - tonumber(ARGV[2]))
if held < 0 then
  -- Served from a lease taken back: served all the same.
  redis.call('HINCRBY', key, 'granted', 0 - held)
  held = 0
  redis.call('HSET', key, held_field, 0)
end
local returned = math.min(held, tonumber(ARGV[3]))
if ARGV[4] == '1' then returned = held end
if returned > 0 then
  redis.call('HINCRBY', key, 'granted', 0 - returned)
  held = redis.call('HINCRBY', key, held_field, 0 - returned)
end
if ARGV[4] == '1' then
  redis.call('HDEL', key, held_field, 'grant:' .. node, 'report:' .. node)
else
  redis.call('HSET', key, 'report:' .. node, op)
end
return held
)lua";

// KEYS[1]: the lease hash. ARGV: limit, used_before, expire_at_s,
// remaining. What nodes hold stays theirs; what was served (handed out and
// not held) becomes limit - remaining. Returns the change to what was served.
constexpr const char* kSetRemaining = R"lua(
local key = KEYS[1]
if redis.call('HSETNX', key, 'granted', ARGV[2]) == 1 then
  redis.call('EXPIREAT', key, ARGV[3])
end
local fields = redis.call('HGETALL', key)
local held = 0
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 5) == 'held:' then held = held + tonumber(fields[i + 1]) end
end
local served = tonumber(redis.call('HGET', key, 'granted')) - held
local delta = tonumber(ARGV[1]) - tonumber(ARGV[4]) - served
redis.call('HINCRBY', key, 'granted', delta)
return delta
)lua";

}  // namespace

QuotaLeases::QuotaLeases(RedisClient& redis, std::string node, std::chrono::milliseconds lease,
                         std::int64_t spread)
    : redis_(redis), node_(std::move(node)), lease_(lease), spread_(spread) {
  if (lease_.count() <= 0) throw std::invalid_argument("a lease must last some time");
  if (spread_ < 1) throw std::invalid_argument("a lease spread must be 1 or more");
}

RedisCommand QuotaLeases::keep_alive() const {
  return {"SET", kNodeMarkPrefix + node_, "1", "PX", std::to_string(lease_.count())};
}

std::vector<LeaseGrant> QuotaLeases::grant(const std::vector<LeaseRequest>& requests,
                                           const std::string& op) {
  std::vector<LeaseGrant> granted;
  if (requests.empty()) return granted;
  std::vector<RedisCommand> commands;
  commands.reserve(requests.size() + 1);
  commands.push_back(keep_alive());
  for (const LeaseRequest& r : requests)
    commands.push_back({"EVAL", kGrant, "1", lease_key(r.plan_id, r.key_id, r.window_id), node_,
                        std::to_string(r.limit), std::to_string(r.used_before),
                        std::to_string(r.want), std::to_string(r.window_end_s + 86400),
                        std::to_string(spread_), op});
  const std::vector<RedisReply> replies = redis_.pipeline(commands);
  granted.reserve(requests.size());
  for (std::size_t i = 1; i < replies.size(); ++i) {
    const redisReply& r = *replies[i];
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 3)
      throw std::runtime_error("a lease grant got an odd reply");
    granted.push_back({reply_integer(*r.element[0]), reply_integer(*r.element[1]),
                       reply_integer(*r.element[2]) != 0});
  }
  return granted;
}

void QuotaLeases::report(const std::vector<LeaseReport>& reports, const std::string& op) {
  std::vector<RedisCommand> commands;
  commands.reserve(reports.size() + 1);
  commands.push_back(keep_alive());
  for (const LeaseReport& r : reports)
    commands.push_back({"EVAL", kReport, "1", lease_key(r.plan_id, r.key_id, r.window_id), node_,
                        std::to_string(r.served), std::to_string(r.returned), r.release ? "1" : "0",
                        op});
  redis_.pipeline(commands);
}

std::int64_t QuotaLeases::set_remaining(const LeaseRequest& r, std::int64_t remaining) {
  return reply_integer(
      *redis_.run({"EVAL", kSetRemaining, "1", lease_key(r.plan_id, r.key_id, r.window_id),
                   std::to_string(r.limit), std::to_string(r.used_before),
                   std::to_string(r.window_end_s + 86400), std::to_string(remaining)}));
}

QuotaLeases::State QuotaLeases::state(const std::string& plan_id, const std::string& key_id,
                                      std::int64_t window_id, const std::string& node) {
  const std::string key = lease_key(plan_id, key_id, window_id);
  const std::vector<RedisReply> r =
      redis_.pipeline({{"HGET", key, "granted"}, {"HGET", key, "held:" + node}});
  return {reply_integer(*r[0]), reply_integer(*r[1])};
}

}  // namespace tollgate
