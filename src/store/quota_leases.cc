#include "store/quota_leases.h"

#include <stdexcept>

namespace tollgate {
namespace {

std::string lease_key(const std::string& plan_id, const std::string& key_id, std::int64_t window_id) {
  return "tollgate:quota:" + plan_id + '\x1f' + key_id + ':' + std::to_string(window_id);
}

// KEYS[1]: the lease hash. ARGV: node, now_ms, lease_ms, limit, used_before,
// want, expire_at_s. Returns the units granted.
constexpr const char* kGrant = R"lua(
local key, node = KEYS[1], ARGV[1]
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, want = tonumber(ARGV[4]), tonumber(ARGV[6])
if redis.call('HSETNX', key, 'granted', ARGV[5]) == 1 then
  redis.call('EXPIREAT', key, ARGV[7])
end
-- Leases of nodes that stopped renewing go back to the quota.
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 6) == 'until:' and tonumber(fields[i + 1]) < now then
    local other = string.sub(name, 7)
    local held = tonumber(redis.call('HGET', key, 'held:' .. other) or '0')
    redis.call('HINCRBY', key, 'granted', -held)
    redis.call('HDEL', key, 'held:' .. other, name)
  end
end
local granted = tonumber(redis.call('HGET', key, 'granted'))
local take = math.min(want, limit - granted)
if take < 0 then take = 0 end
redis.call('HINCRBY', key, 'granted', take)
redis.call('HINCRBY', key, 'held:' .. node, take)
redis.call('HSET', key, 'until:' .. node, now + lease)
return take
)lua";

// KEYS[1]: the lease hash. ARGV: node, served, release (0 or 1), now_ms,
// lease_ms. A report renews the node's lease.
constexpr const char* kReport = R"lua(
local key, node = KEYS[1], ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'until:' .. node, tonumber(ARGV[4]) + tonumber(ARGV[5]))
local held = redis.call('HINCRBY', key, 'held:' .. node, -tonumber(ARGV[2]))
if held < 0 then
  redis.call('HSET', key, 'held:' .. node, 0)
  held = 0
end
if ARGV[3] == '1' then
  redis.call('HINCRBY', key, 'granted', -held)
  redis.call('HDEL', key, 'held:' .. node, 'until:' .. node)
end
return held
)lua";

}  // namespace

QuotaLeases::QuotaLeases(RedisClient& redis, std::string node, std::int64_t lease_ms)
    : redis_(redis), node_(std::move(node)), lease_ms_(lease_ms) {
  if (lease_ms_ <= 0) throw std::invalid_argument("a lease must last some time");
}

std::vector<std::int64_t> QuotaLeases::grant(const std::vector<LeaseRequest>& requests, std::int64_t now_ms) {
  std::vector<RedisCommand> commands;
  commands.reserve(requests.size());
  for (const LeaseRequest& r : requests)
    commands.push_back({"EVAL", kGrant, "1", lease_key(r.plan_id, r.key_id, r.window_id), node_,
                        std::to_string(now_ms), std::to_string(lease_ms_), std::to_string(r.limit),
                        std::to_string(r.used_before), std::to_string(r.want), std::to_string(r.window_end_s + 86400)});
  std::vector<std::int64_t> granted;
  granted.reserve(requests.size());
  if (commands.empty()) return granted;
  for (const RedisReply& reply : redis_.pipeline(commands)) granted.push_back(reply_integer(*reply));
  return granted;
}

void QuotaLeases::report(const std::vector<LeaseReport>& reports, std::int64_t now_ms) {
  std::vector<RedisCommand> commands;
  commands.reserve(reports.size());
  for (const LeaseReport& r : reports)
    commands.push_back({"EVAL", kReport, "1", lease_key(r.plan_id, r.key_id, r.window_id), node_,
                        std::to_string(r.served), r.release ? "1" : "0", std::to_string(now_ms),
                        std::to_string(lease_ms_)});
  if (!commands.empty()) redis_.pipeline(commands);
}

QuotaLeases::State QuotaLeases::state(const std::string& plan_id, const std::string& key_id, std::int64_t window_id,
                                      const std::string& node) {
  const std::string key = lease_key(plan_id, key_id, window_id);
  const std::vector<RedisReply> r = redis_.pipeline({{"HGET", key, "granted"}, {"HGET", key, "held:" + node}});
  return {reply_integer(*r[0]), reply_integer(*r[1])};
}

}  // namespace tollgate
