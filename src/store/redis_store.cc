#include "store/redis_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "model/json_codec.h"
#include "store/redis_layout.h"
#include "store/stored_doc.h"

namespace tollgate {
namespace {

namespace json = boost::json;
using namespace redis_layout;

std::string usage_key(std::int64_t day) { return "tollgate:usage:" + std::to_string(day); }
// Usage on a day by whom it is billed to: the fields are "plan\x1fkey\x1fcustomer".
// Days counted before it was kept have none (see scan_usage).
std::string billed_usage_key(std::int64_t day) {
  return "tollgate:billed_usage:" + std::to_string(day);
}
std::string adjustments_on_key(std::int64_t day) {
  return "tollgate:adjustments_on:" + std::to_string(day);
}
constexpr const char* kMeterProgress = "tollgate:meter_progress";
std::string attribution_field(std::string_view plan_id, std::string_view key_id,
                              std::string_view customer_id) {
  std::string f = pair_field(plan_id, key_id);
  f += kSep;
  f += customer_id;
  return f;
}

// A meter slot's field: a key's slot for no customer keeps the two-part
// form slots had before customers were kept.
std::string slot_field(const UsageAttribution& a) {
  return a.customer_id.empty() ? pair_field(a.plan_id, a.key_id)
                               : attribution_field(a.plan_id, a.key_id, a.customer_id);
}

// "plan\x1fkey[\x1fcustomer]": the customer is the rest, whatever it holds.
UsageAttribution split_attribution(std::string_view f) {
  UsageAttribution a;
  const std::size_t first = f.find(kSep);
  a.plan_id = std::string(f.substr(0, first));
  if (first == std::string_view::npos) return a;
  const std::size_t second = f.find(kSep, first + 1);
  a.key_id = std::string(
      f.substr(first + 1, second == std::string_view::npos ? second : second - first - 1));
  if (second != std::string_view::npos) a.customer_id = std::string(f.substr(second + 1));
  return a;
}
// Served per plan on a day: the fields are plan ids.
std::string plan_usage_key(std::int64_t day) {
  return "tollgate:plan_usage:" + std::to_string(day);
}

// Makes the plan totals from the keys' usage, once, for a store written
// before they were kept (KEYS: meta, usage days). Atomic, so a node adding
// usage meanwhile is counted once: before, in the keys' usage; after, in
// both.
constexpr const char* kMakePlanTotals = R"lua(
if redis.call('HGET', KEYS[1], 'plan_totals') then return 0 end
for _, day in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local totals = {}
  local usage = redis.call('HGETALL', 'tollgate:usage:' .. day)
  for i = 1, #usage, 2 do
    local plan = string.sub(usage[i], 1, string.find(usage[i], '\31', 1, true) - 1)
    totals[plan] = (totals[plan] or 0) + tonumber(usage[i + 1])
  end
  local key = 'tollgate:plan_usage:' .. day
  redis.call('DEL', key)
  for plan, used in pairs(totals) do redis.call('HSET', key, plan, used) end
end
redis.call('HSET', KEYS[1], 'plan_totals', 1)
return 1
)lua";

std::string minutes_key(std::int64_t minute) {
  return "tollgate:minutes:" + std::to_string(minute);
}
// The fields of a key's (or with key_id empty a plan's) counts in a minute's hash.
std::array<std::string, 3> minute_fields(std::string_view plan_id, std::string_view key_id) {
  const std::string pair = pair_field(plan_id, key_id) + kSep;
  return {pair + "allowed", pair + "throttled", pair + "quota_exceeded"};
}

// Per-minute counts as commands: each minute's hash expires on its own.
void add_minute_commands(const std::vector<MinuteDelta>& deltas,
                         std::vector<RedisCommand>& commands) {
  std::set<std::int64_t> minutes;
  for (const MinuteDelta& d : deltas) {
    const std::string key = minutes_key(d.counts.minute);
    const auto fields = minute_fields(d.plan_id, d.key_id);
    const std::int64_t counts[] = {d.counts.allowed, d.counts.throttled, d.counts.quota_exceeded};
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (counts[i] != 0)
        commands.push_back({"HINCRBY", key, fields[i], std::to_string(counts[i])});
    minutes.insert(d.counts.minute);
  }
  for (const std::int64_t minute : minutes)
    commands.push_back(
        {"EXPIREAT", minutes_key(minute), std::to_string((minute + kMinuteCountsKept) * 60)});
}

// Adjustments are listed by plan and by day, each entry
// "key\x1fday\x1fdelta\x1fcreated\x1factor\x1fperiod\x1fid\x1fcustomer" (the
// customer last, since it may hold anything; entries from before periods
// were kept end at the actor); a day's list puts "plan\x1f" before each.
std::string adjustments_key(std::string_view plan_id) {
  return "tollgate:adjustments:" + std::string(plan_id);
}

// Records an adjustment in both lists under the next id, or its own when
// ARGV[4] is one (KEYS: meta, plan list, day list; ARGV: the entry before
// its id and after it, the plan id, its own id or 0).
constexpr const char* kAddAdjustment = R"lua(
local id = tonumber(ARGV[4])
if id > 0 then
  if id > tonumber(redis.call('HGET', KEYS[1], 'adjustment_id') or '0') then
    redis.call('HSET', KEYS[1], 'adjustment_id', id)
  end
else
  id = redis.call('HINCRBY', KEYS[1], 'adjustment_id', 1)
end
local entry = ARGV[1] .. id .. ARGV[2]
redis.call('RPUSH', KEYS[2], entry)
redis.call('RPUSH', KEYS[3], ARGV[3] .. '\31' .. entry)
return id
)lua";

// Gives every (plan, key) field its slot, assigning the next free one to each
// new field, in one atomic step.
constexpr const char* kAssignSlots = R"lua(
local out = {}
for i = 1, #ARGV do
  local slot = redis.call('HGET', KEYS[1], ARGV[i])
  if not slot then
    slot = redis.call('HINCRBY', KEYS[2], 'next_slot', 1) - 1
    redis.call('HSET', KEYS[1], ARGV[i], slot)
  end
  out[i] = tonumber(slot)
end
return out
)lua";

}  // namespace

RedisStore::RedisStore(RedisAddress address, std::string node, RedisMetrics* metrics)
    : redis_(std::move(address), metrics), node_(std::move(node)) {
  if (node_.empty() || node_.find(kSep) != std::string::npos)
    throw std::invalid_argument("bad node name");
}

std::string RedisStore::node_key(std::string_view name) const {
  return "tollgate:node:" + node_ + ":" + std::string(name);
}

void RedisStore::add_usage(const std::vector<UsageDelta>& deltas,
                           const std::vector<SlotWatermark>& watermarks,
                           const std::vector<MinuteDelta>& minutes) {
  if (deltas.empty() && watermarks.empty() && minutes.empty()) return;
  std::vector<RedisCommand> commands;
  commands.reserve(3 * deltas.size() + watermarks.size() + 3 * minutes.size());
  add_minute_commands(minutes, commands);
  std::map<std::pair<std::string_view, std::int64_t>, std::int64_t> plan_totals;
  for (const auto& d : deltas) {
    commands.push_back(
        {"HINCRBY", usage_key(d.day), pair_field(d.plan_id, d.key_id), std::to_string(d.count)});
    commands.push_back({"HINCRBY", billed_usage_key(d.day),
                        attribution_field(d.plan_id, d.key_id, d.customer_id),
                        std::to_string(d.count)});
    commands.push_back({"SADD", kUsageDays, std::to_string(d.day)});
    plan_totals[{d.plan_id, d.day}] += d.count;
  }
  for (const auto& [plan_day, count] : plan_totals)
    commands.push_back({"HINCRBY", plan_usage_key(plan_day.second), std::string(plan_day.first),
                        std::to_string(count)});
  const std::string marks = node_key("watermarks");
  for (const auto& w : watermarks)
    commands.push_back({"HSET", marks, std::to_string(w.slot) + ":" + std::to_string(w.parity),
                        std::to_string(w.day) + " " + std::to_string(w.count)});
  atomically(redis_, commands);
}

std::vector<std::int64_t> RedisStore::usage_days_between(std::int64_t first_day,
                                                         std::int64_t last_day) {
  RedisReply r = redis_.run({"SMEMBERS", kUsageDays});
  std::vector<std::int64_t> days;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const std::int64_t day = reply_integer(*r->element[i]);
    if (day >= first_day && day <= last_day) days.push_back(day);
  }
  std::sort(days.begin(), days.end());
  return days;
}

bool RedisStore::billed_rows(std::int64_t day,
                             std::optional<std::unordered_map<std::string, std::string>>& customers,
                             const std::function<bool(const UsageRow&)>& fn) {
  const std::vector<RedisReply> r =
      redis_.pipeline({{"HGETALL", billed_usage_key(day)}, {"HGETALL", usage_key(day)}});
  // Both sorted by field: the unit separator orders the parts as the tuple
  // does, and a key's billed fields follow one another.
  const std::vector<HashEntry> billed = hash_entries(*r[0]);
  std::size_t b = 0;
  std::vector<UsageRow> rows;  // one key's, by customer
  for (const auto& [pair, total] : hash_entries(*r[1])) {
    auto [plan_id, key_id] = split_field(pair);
    const std::string prefix = std::string(pair) + kSep;
    rows.clear();
    std::int64_t billed_sum = 0;
    while (b < billed.size() && billed[b].first < prefix) ++b;
    for (; b < billed.size() && billed[b].first.starts_with(prefix); ++b) {
      rows.push_back({day, plan_id, key_id, to_int(billed[b].second),
                      std::string(billed[b].first.substr(prefix.size()))});
      billed_sum += rows.back().used;
    }
    // What the key's total holds beyond its billed fields was counted by a
    // node from before usage was kept by customer (a day counted before the
    // upgrade, or the part of it before): billed to the customer the key
    // has now, as exports did then.
    if (const std::int64_t rest = to_int(total) - billed_sum; rest != 0) {
      if (!customers) {
        customers.emplace();
        for (const ApiKey& k : load_control_state().api_keys)
          customers->emplace(k.id, k.customer_id);
      }
      const auto found = customers->find(key_id);
      const std::string customer = found == customers->end() ? std::string() : found->second;
      const auto at = std::lower_bound(
          rows.begin(), rows.end(), customer,
          [](const UsageRow& row, const std::string& c) { return row.customer_id < c; });
      if (at != rows.end() && at->customer_id == customer)
        at->used += rest;
      else
        rows.insert(at, UsageRow{day, plan_id, key_id, rest, customer});
    }
    for (const UsageRow& row : rows)
      if (!fn(row)) return false;
  }
  return true;
}

void RedisStore::scan_usage(std::int64_t first_day, std::int64_t last_day, const UsageRow& after,
                            const std::function<bool(const UsageRow&)>& fn) {
  std::optional<std::unordered_map<std::string, std::string>> customers;
  for (const std::int64_t day : usage_days_between(std::max(first_day, after.day), last_day)) {
    const bool go_on = billed_rows(day, customers, [&](const UsageRow& row) {
      if (std::tie(row.day, row.plan_id, row.key_id, row.customer_id) <=
          std::tie(after.day, after.plan_id, after.key_id, after.customer_id))
        return true;
      return fn(row);
    });
    if (!go_on) return;
  }
}

bool RedisStore::has_usage(const UsageRow& at) {
  std::optional<std::unordered_map<std::string, std::string>> customers;
  bool found = false;
  billed_rows(at.day, customers, [&](const UsageRow& row) {
    found =
        row.plan_id == at.plan_id && row.key_id == at.key_id && row.customer_id == at.customer_id;
    return !found;
  });
  return found;
}

void RedisStore::prune_usage(std::int64_t first_kept_day) {
  for (const std::int64_t day : usage_days_between(INT64_MIN, first_kept_day - 1))
    atomically(redis_, {{"DEL", usage_key(day)},
                        {"DEL", billed_usage_key(day)},
                        {"DEL", plan_usage_key(day)},
                        {"DEL", adjustments_on_key(day)},
                        {"SREM", kUsageDays, std::to_string(day)}});
}

std::vector<MinuteCounts> RedisStore::minute_counts(const std::string& plan_id,
                                                    const std::string& key_id,
                                                    std::int64_t first_minute,
                                                    std::int64_t last_minute) {
  std::vector<MinuteCounts> out;
  if (last_minute < first_minute) return out;
  const auto fields = minute_fields(plan_id, key_id);
  std::vector<RedisCommand> commands;
  for (std::int64_t minute = first_minute; minute <= last_minute; ++minute)
    commands.push_back({"HMGET", minutes_key(minute), fields[0], fields[1], fields[2]});
  const std::vector<RedisReply> r = redis_.pipeline(commands);
  for (std::size_t i = 0; i < r.size(); ++i) {
    std::int64_t counts[3] = {};
    bool any = false;
    for (std::size_t f = 0; f < 3 && f < r[i]->elements; ++f) {
      const redisReply& v = *r[i]->element[f];
      if (v.type == REDIS_REPLY_NIL) continue;
      counts[f] = reply_integer(v);
      any = true;
    }
    if (any)
      out.push_back({first_minute + static_cast<std::int64_t>(i), counts[0], counts[1], counts[2]});
  }
  return out;
}

// Nothing to do: each minute's hash expires on its own (add_minute_counts).
void RedisStore::prune_minute_counts(std::int64_t) {}

std::vector<std::uint32_t> RedisStore::assign_meter_slots(
    const std::vector<UsageAttribution>& owners) {
  constexpr std::size_t kBatch = 10000;  // arguments per script call
  std::vector<std::uint32_t> slots;
  slots.reserve(owners.size());
  for (std::size_t start = 0; start < owners.size(); start += kBatch) {
    RedisCommand command{"EVAL", kAssignSlots, "2", node_key("meter_slots"), node_key("meta")};
    for (std::size_t i = start; i < std::min(owners.size(), start + kBatch); ++i)
      command.push_back(slot_field(owners[i]));
    RedisReply r = redis_.run(command);
    for (std::size_t i = 0; i < r->elements; ++i)
      slots.push_back(static_cast<std::uint32_t>(reply_integer(*r->element[i])));
  }
  return slots;
}

void RedisStore::scan_meter_slots(const std::function<void(const MeterSlot&)>& fn) {
  const std::vector<RedisReply> r = atomically(
      redis_, {{"HGETALL", node_key("meter_slots")}, {"HGETALL", node_key("watermarks")}});
  // Watermarks by slot and parity ("SLOT:PARITY" -> "DAY COUNT"); slots in
  // the order Redis gives them (the meter wants no order, and a million
  // sorted would take a third of the scan).
  std::unordered_map<std::uint64_t, SlotWatermark> marks;
  const redisReply& mark_entries = *r[1];
  for (std::size_t i = 0; i + 1 < mark_entries.elements; i += 2) {
    const std::string_view field = reply_view(*mark_entries.element[i]);
    const std::string_view mark = reply_view(*mark_entries.element[i + 1]);
    const std::size_t colon = field.find(':');
    const std::size_t space = mark.find(' ');
    if (colon == std::string_view::npos || space == std::string_view::npos) continue;
    const auto slot = static_cast<std::uint32_t>(to_int(field.substr(0, colon)));
    const auto parity = static_cast<int>(to_int(field.substr(colon + 1)));
    marks[std::uint64_t{slot} * 2 + static_cast<std::uint64_t>(parity & 1)] = {
        slot, parity, to_int(mark.substr(0, space)), to_int(mark.substr(space + 1))};
  }
  const redisReply& slots = *r[0];
  MeterSlot m;
  for (std::size_t i = 0; i + 1 < slots.elements; i += 2) {
    UsageAttribution a = split_attribution(reply_view(*slots.element[i]));
    m.plan_id = std::move(a.plan_id);
    m.key_id = std::move(a.key_id);
    m.customer_id = std::move(a.customer_id);
    m.slot = static_cast<std::uint32_t>(to_int(reply_view(*slots.element[i + 1])));
    for (int parity = 0; parity < 2; ++parity) {
      const auto it = marks.find(std::uint64_t{m.slot} * 2 + static_cast<std::uint64_t>(parity));
      m.flushed[parity] = it == marks.end() ? SlotWatermark{m.slot, parity, -1, 0} : it->second;
    }
    fn(m);
  }
}

std::size_t RedisStore::meter_slot_count() {
  return static_cast<std::size_t>(reply_integer(*redis_.run({"HLEN", node_key("meter_slots")})));
}

std::vector<DailyUsage> RedisStore::field_by_day(std::string (*hash_of_day)(std::int64_t),
                                                 const std::string& field, std::int64_t first_day,
                                                 std::int64_t last_day) {
  const std::vector<std::int64_t> days = usage_days_between(first_day, last_day);
  std::vector<DailyUsage> out;
  if (days.empty()) return out;
  std::vector<RedisCommand> commands;
  for (const std::int64_t day : days) commands.push_back({"HGET", hash_of_day(day), field});
  const std::vector<RedisReply> r = redis_.pipeline(commands);
  for (std::size_t i = 0; i < days.size(); ++i)
    if (r[i]->type != REDIS_REPLY_NIL) out.push_back({days[i], reply_integer(*r[i])});
  return out;
}

std::vector<DailyUsage> RedisStore::usage_days(const std::string& plan_id,
                                               const std::string& key_id, std::int64_t first_day,
                                               std::int64_t last_day) {
  return field_by_day(usage_key, pair_field(plan_id, key_id), first_day, last_day);
}

std::vector<DailyUsage> RedisStore::plan_usage_days(const std::string& plan_id,
                                                    std::int64_t first_day, std::int64_t last_day) {
  redis_.run({"EVAL", kMakePlanTotals, "2", kMeta, kUsageDays});
  return field_by_day(plan_usage_key, plan_id, first_day, last_day);
}

std::int64_t RedisStore::usage_between(const std::string& plan_id, const std::string& key_id,
                                       std::int64_t first_day, std::int64_t last_day) {
  std::int64_t used = 0;
  for (const DailyUsage& d : usage_days(plan_id, key_id, first_day, last_day)) used += d.used;
  return used;
}

std::unordered_map<std::string, std::int64_t> RedisStore::quota_used_by_key(
    const std::string& plan_id, QuotaPeriod period, std::int64_t first_day, std::int64_t last_day) {
  std::unordered_map<std::string, std::int64_t> used;
  for (const std::int64_t day : usage_days_between(first_day, last_day)) {
    RedisReply r = redis_.run({"HGETALL", usage_key(day)});
    for (const auto& [field, n] : hash_entries(*r)) {
      auto [plan, key] = split_field(field);
      if (plan == plan_id) used[key] += to_int(n);
    }
  }
  for (const UsageAdjustment& a : adjustments_of_plan(plan_id))
    if (a.day >= first_day && a.day <= last_day && a.period == period) used[a.key_id] += a.delta;
  return used;
}

std::size_t RedisStore::live_nodes() {
  // A node is alive while it has marked itself within the last five seconds.
  constexpr std::int64_t kAliveMs = 5000;
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const std::vector<RedisReply> r =
      atomically(redis_, {{"ZADD", kNodes, std::to_string(now_ms), node_},
                          {"ZREMRANGEBYSCORE", kNodes, "-inf", std::to_string(now_ms - kAliveMs)},
                          {"ZCARD", kNodes}});
  return std::max<std::size_t>(1, static_cast<std::size_t>(reply_integer(*r[2])));
}

void RedisStore::put_meter_progress(const MeterProgress& p) {
  redis_.run({"HSET", kMeterProgress, p.node,
              std::to_string(p.complete_before_day) + " " + (p.running ? "1" : "0") + " " +
                  std::to_string(p.updated_at_s)});
}

std::vector<MeterProgress> RedisStore::meter_progress() {
  RedisReply r = redis_.run({"HGETALL", kMeterProgress});
  std::vector<MeterProgress> out;
  for (const auto& [node, text] : hash_entries(*r)) {
    MeterProgress p{std::string(node)};
    std::int64_t running = 0;
    std::istringstream in{std::string(text)};
    in >> p.complete_before_day >> running >> p.updated_at_s;
    p.running = running != 0;
    out.push_back(std::move(p));
  }
  return out;
}

void RedisStore::add_adjustment(const UsageAdjustment& a) {
  std::string before = a.key_id;
  for (const std::string& part :
       {std::to_string(a.day), std::to_string(a.delta), std::to_string(a.created_at), a.actor,
        std::string(to_string(a.period))}) {
    before += kSep;
    before += part;
  }
  before += kSep;
  redis_.run({"EVAL", kAddAdjustment, "3", kMeta, adjustments_key(a.plan_id),
              adjustments_on_key(a.day), before, kSep + a.customer_id, a.plan_id,
              std::to_string(a.id)});
}

std::vector<UsageAdjustment> RedisStore::adjustments(const std::string& plan_id,
                                                     const std::string& key_id,
                                                     std::int64_t first_day,
                                                     std::int64_t last_day) {
  std::vector<UsageAdjustment> out;
  for (UsageAdjustment& a : adjustments_of_plan(plan_id))
    if (a.key_id == key_id && a.day >= first_day && a.day <= last_day) out.push_back(std::move(a));
  return out;
}

namespace {

// An entry of an adjustment list; `legacy_period` is that of an entry from
// before periods were kept.
UsageAdjustment parse_adjustment(std::string plan_id, std::string_view text,
                                 QuotaPeriod legacy_period) {
  constexpr int kParts = 8;  // key, day, delta, created, actor, period, id, customer
  std::string_view parts[kParts];
  int n = 0;
  for (std::size_t start = 0; n < kParts;) {
    const std::size_t end = n == kParts - 1 ? std::string_view::npos : text.find(kSep, start);
    parts[n++] =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  UsageAdjustment a{std::move(plan_id), std::string(parts[0]), to_int(parts[1]),
                    to_int(parts[2]),   to_int(parts[3]),      std::string(parts[4])};
  a.period = n > 5 ? quota_period_from(parts[5]).value_or(legacy_period) : legacy_period;
  if (n > 6) a.id = to_int(parts[6]);
  if (n > 7) a.customer_id = std::string(parts[7]);
  return a;
}

}  // namespace

std::vector<UsageAdjustment> RedisStore::adjustments_of_plan(const std::string& plan_id) {
  const std::vector<RedisReply> r = redis_.pipeline(
      {{"LRANGE", adjustments_key(plan_id), "0", "-1"}, {"HGET", kUsagePlans, plan_id}});
  // Entries from before periods were kept are taken to be of the plan's period now.
  QuotaPeriod legacy_period = QuotaPeriod::kMonth;
  if (r[1]->type == REDIS_REPLY_STRING) {
    const UsagePlan plan = decode_doc(reply_text(*r[1]), usage_plan_from_json);
    if (plan.quota) legacy_period = plan.quota->period;
  }
  std::vector<UsageAdjustment> out;
  for (std::size_t i = 0; i < r[0]->elements; ++i)
    out.push_back(parse_adjustment(plan_id, reply_text(*r[0]->element[i]), legacy_period));
  return out;
}

std::vector<UsageAdjustment> RedisStore::adjustments_between(std::int64_t first_day,
                                                             std::int64_t last_day) {
  std::vector<UsageAdjustment> out;
  if (last_day < first_day) return out;
  std::vector<RedisCommand> commands;
  for (std::int64_t day = first_day; day <= last_day; ++day)
    commands.push_back({"LRANGE", adjustments_on_key(day), "0", "-1"});
  for (const RedisReply& list : redis_.pipeline(commands)) {
    const std::size_t first = out.size();
    for (std::size_t i = 0; i < list->elements; ++i) {
      const std::string text = reply_text(*list->element[i]);
      const std::size_t sep = text.find(kSep);
      out.push_back(parse_adjustment(text.substr(0, sep), std::string_view(text).substr(sep + 1),
                                     QuotaPeriod::kMonth));
    }
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  return out;
}

}  // namespace tollgate
