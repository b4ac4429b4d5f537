// The control state of RedisStore: its write transaction, its reads by key,
// its change log, and the building of its indexes for a store written
// before they were kept. Layout: redis_layout.h.

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "model/json_codec.h"
#include "store/page_token.h"
#include "store/redis_layout.h"
#include "store/redis_store.h"
#include "store/stored_doc.h"

namespace tollgate {
namespace {

using namespace redis_layout;

// Moves the control version and appends what the commit changed to the
// log, inside the commit's MULTI (KEYS: meta, log; ARGV: entries kept, the
// change, as append_logged_key writes it).
constexpr const char* kLogChange = R"lua(
local v = redis.call('HINCRBY', KEYS[1], 'control_version', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], v .. '-1', 'c', ARGV[2])
return v
)lua";
// Versions the log keeps: a node further behind rebuilds.
constexpr const char* kLogKept = "10000";

// A key in both of two plans' key sets, if any (KEYS: the two sets).
constexpr const char* kKeyInBoth = R"lua(
local n = redis.call('ZCARD', KEYS[1])
for start = 0, n - 1, 1000 do
  for _, k in ipairs(redis.call('ZRANGE', KEYS[1], start, start + 999)) do
    if redis.call('ZSCORE', KEYS[2], k) then return k end
  end
end
return false
)lua";

// Holds the store's write lock: writers exclude each other.
class WriteLock {
 public:
  explicit WriteLock(RedisClient& redis) : redis_(redis), token_(random_token()) {
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    const std::string lease = std::to_string(std::chrono::milliseconds(kLockLease).count());
    for (;;) {
      RedisReply r = redis_.run({"SET", kWriteLock, token_, "NX", "PX", lease});
      if (r->type == REDIS_REPLY_STATUS) break;
      if (std::chrono::steady_clock::now() >= deadline)
        throw StoreUnavailable("the store is busy: another writer has held it for " +
                               std::to_string(kLockWait.count()) + " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~WriteLock() {
    try {
      release();
    } catch (...) {
      // The lock's lease ends it anyway.
    }
  }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

  // A writer whose lease ran out must not write over the next one.
  void check_held() {
    if (reply_text(*redis_.run({"GET", kWriteLock})) != token_)
      throw StoreUnavailable(
          "the write took longer than the store's lock lease; nothing was changed");
  }
  void release() {
    if (released_) return;
    released_ = true;
    redis_.run({"EVAL", kReleaseLock, "1", kWriteLock, token_});
  }

 private:
  RedisClient& redis_;
  std::string token_;
  bool released_ = false;
};

std::optional<ApiKey> decode_key(const redisReply& r) {
  if (r.type != REDIS_REPLY_STRING) return std::nullopt;
  return decode_doc(reply_view(r), api_key_from_json);
}

std::string name_entry(const ApiKey& k) { return pair_field(k.name, k.id); }

// What indexes `key` (the value, the creation order, the name, the customer);
// its serving entry is written with its plans (serving_commands).
void add_index_commands(const ApiKey& key, std::vector<RedisCommand>& out) {
  const std::string created = std::to_string(key.created_date);
  out.push_back({"HSET", kKeyValues, key.value, key.id});
  out.push_back({"ZADD", kKeysByCreated, created, key.id});
  out.push_back({"ZADD", kKeysByName, "0", name_entry(key)});
  if (!key.customer_id.empty())
    out.push_back({"ZADD", customer_keys(key.customer_id), created, key.id});
}

// What undoes add_index_commands(before) where `after` (none: deleted) does not redo it.
void drop_index_commands(const ApiKey& before, const std::optional<ApiKey>& after,
                         std::vector<RedisCommand>& out) {
  if (!after || after->value != before.value) out.push_back({"HDEL", kKeyValues, before.value});
  if (!after || after->name != before.name)
    out.push_back({"ZREM", kKeysByName, name_entry(before)});
  if (!before.customer_id.empty() && (!after || after->customer_id != before.customer_id))
    out.push_back({"ZREM", customer_keys(before.customer_id), before.id});
  if (!after) out.push_back({"ZREM", kKeysByCreated, before.id});
}

void add_membership_commands(const std::string& plan_id, const std::string& key_id,
                             std::int64_t created, std::vector<RedisCommand>& out) {
  const std::string when = std::to_string(created);
  out.push_back({"HSET", key_plans(key_id), plan_id, when});
  out.push_back({"ZADD", plan_keys(plan_id), when, key_id});
  out.push_back({"HSET", kUsagePlanKeys, pair_field(plan_id, key_id), when});
}

// A view of each element of an array reply.
std::vector<std::string_view> views(const redisReply& r) {
  std::vector<std::string_view> out;
  if (r.type != REDIS_REPLY_ARRAY) return out;
  out.reserve(r.elements);
  for (std::size_t i = 0; i < r.elements; ++i) out.push_back(reply_view(*r.element[i]));
  return out;
}

// The replies of `commands`, sent in pipelines of a thousand.
std::vector<RedisReply> pipelined(RedisClient& redis, const std::vector<RedisCommand>& commands) {
  constexpr std::size_t kBatch = 1000;
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (std::size_t start = 0; start < commands.size(); start += kBatch) {
    const std::vector<RedisCommand> part(
        commands.begin() + static_cast<std::ptrdiff_t>(start),
        commands.begin() + static_cast<std::ptrdiff_t>(std::min(commands.size(), start + kBatch)));
    for (RedisReply& r : redis.pipeline(part)) out.push_back(std::move(r));
  }
  return out;
}

std::vector<UsagePlanKey> memberships_of_reply(const std::string& key_id, const redisReply& r) {
  std::vector<UsagePlanKey> out;
  for (const auto& [plan, created] : hash_entries(r))
    out.push_back({std::string(plan), key_id, to_int(created)});
  return out;
}

}  // namespace

class RedisControlTransaction final : public ControlTransaction {
 public:
  explicit RedisControlTransaction(RedisStore& store) : store_(store), lock_(store.redis_) {}

  // Reads see the store as committed, with this transaction's keys and
  // memberships laid over it.
  ControlState state() override { return store_.load_control_state(); }
  ControlState few() override { return store_.few(); }
  bool keys_hashed() override { return keys_hashed_ || store_.keys_hashed(); }
  std::optional<ApiKey> api_key(const std::string& key_id) override {
    if (const auto it = keys_.find(key_id); it != keys_.end()) return it->second;
    return store_.api_key(key_id);
  }
  std::optional<std::string> key_id_with_value(const std::string& value) override {
    if (const auto it = values_.find(value); it != values_.end()) {
      const auto& key = keys_.at(it->second);
      if (key && key->value == value) return it->second;
    }
    std::optional<std::string> id = store_.key_id_with_value(value);
    // Its holder may have been changed or deleted here.
    if (id)
      if (const auto it = keys_.find(*id);
          it != keys_.end() && (!it->second || it->second->value != value))
        return std::nullopt;
    return id;
  }
  std::vector<UsagePlanKey> plans_of_key(const std::string& key_id) override {
    std::map<std::string, std::int64_t> plans;
    for (const UsagePlanKey& m : store_.plans_of_key(key_id))
      plans.emplace(m.plan_id, m.created_date);
    if (const auto it = members_.find(key_id); it != members_.end())
      for (const auto& [plan, created] : it->second) {
        if (!created)
          plans.erase(plan);
        else
          plans.emplace(plan, *created);
      }
    std::vector<UsagePlanKey> out;
    for (const auto& [plan, created] : plans) out.push_back({plan, key_id, created});
    return out;
  }
  std::optional<UsagePlanKey> membership(const std::string& plan_id,
                                         const std::string& key_id) override {
    if (const auto it = members_.find(key_id); it != members_.end())
      if (const auto m = it->second.find(plan_id); m != it->second.end()) {
        if (!m->second) return std::nullopt;
        if (std::optional<UsagePlanKey> committed = store_.membership(plan_id, key_id))
          return committed;
        return UsagePlanKey{plan_id, key_id, *m->second};
      }
    return store_.membership(plan_id, key_id);
  }
  std::optional<std::string> key_in_both(const std::string& plan_id,
                                         const std::string& other_plan_id) override {
    return store_.key_in_both(plan_id, other_plan_id);
  }
  KeyListing list_api_keys(const KeyQuery& query) override { return store_.list_api_keys(query); }
  MemberListing list_plan_keys(const MemberQuery& query) override {
    return store_.list_plan_keys(query);
  }
  std::vector<std::string> plan_key_ids(const std::string& plan_id) override {
    return store_.plan_key_ids(plan_id);
  }
  std::size_t plan_key_count(const std::string& plan_id) override {
    return store_.plan_key_count(plan_id);
  }

  void put(const RestApi& api) override { few(kApis, api.id, doc_text(to_json(api))); }
  void put(const Deployment& d) override {
    few(kDeployments, pair_field(d.api_id, d.id), doc_text(to_json(d)));
  }
  void put(const Stage& s) override {
    few(kStages, pair_field(s.api_id, s.stage_name), doc_text(to_json(s)));
  }
  void put(const UsagePlan& p) override { few(kUsagePlans, p.id, doc_text(to_json(p))); }
  void put(const AccountSettings& a) override {
    commands_.push_back({"SET", kAccount, doc_text(to_json(a))});
    few_changed_ = true;
  }
  void put(const ApiKey& k) override {
    touch_key(k.id) = k;
    values_[k.value] = k.id;
  }
  void put(const UsagePlanKey& pk) override {
    std::optional<std::int64_t>& created = members_[pk.key_id][pk.plan_id];
    if (!created) created = pk.created_date;  // a membership keeps when it began
  }
  void set_keys_hashed() override {
    commands_.push_back({"HSET", kMeta, "keys_hashed", "1"});
    keys_hashed_ = true;
    few_changed_ = true;
  }

  void erase_api(const std::string& api_id) override {
    commands_.push_back({"HDEL", kApis, api_id});
    for (const char* hash : {kDeployments, kStages}) {
      RedisReply fields = store_.redis_.run({"HKEYS", hash});
      for (const std::string_view field : views(*fields))
        if (split_field(field).first == api_id)
          commands_.push_back({"HDEL", hash, std::string(field)});
    }
    few_changed_ = true;
  }
  void erase_deployment(const std::string& api_id, const std::string& id) override {
    commands_.push_back({"HDEL", kDeployments, pair_field(api_id, id)});
    few_changed_ = true;
  }
  void erase_stage(const std::string& api_id, const std::string& name) override {
    commands_.push_back({"HDEL", kStages, pair_field(api_id, name)});
    few_changed_ = true;
  }
  void erase_api_key(const std::string& key_id) override {
    touch_key(key_id) = std::nullopt;
    for (const UsagePlanKey& m : plans_of_key(key_id)) members_[key_id][m.plan_id] = std::nullopt;
  }
  void erase_usage_plan(const std::string& plan_id) override {
    commands_.push_back({"HDEL", kUsagePlans, plan_id});
    few_changed_ = true;
    RedisReply keys = store_.redis_.run({"ZRANGE", plan_keys(plan_id), "0", "-1"});
    for (const std::string_view key : views(*keys))
      members_[std::string(key)][plan_id] = std::nullopt;
    for (auto& [key, plans] : members_)
      if (const auto it = plans.find(plan_id); it != plans.end()) it->second = std::nullopt;
  }
  void erase_usage_plan_key(const std::string& plan_id, const std::string& key_id) override {
    members_[key_id][plan_id] = std::nullopt;
  }

  void commit() override {
    if (commands_.empty() && keys_.empty() && members_.empty()) {
      lock_.release();
      return;
    }
    lock_.check_held();
    std::vector<RedisCommand> commands = std::move(commands_);
    std::string log;
    std::unordered_set<std::string_view> logged;
    key_commands(commands, log, logged);
    membership_commands(commands, log, logged);
    serving_commands(commands);
    const bool rebuild = few_changed_ || logged.size() > kMaxDeltaKeys;
    commands.push_back(
        {"EVAL", kLogChange, "2", kMeta, kControlLog, kLogKept, rebuild ? "*" : log});
    const std::vector<RedisReply> replies = atomically(store_.redis_, commands);
    store_.redis_.run({"PUBLISH", RedisStore::kChangesChannel, reply_text(*replies.back())});
    lock_.release();
  }

 private:
  void few(const char* hash, std::string field, std::string doc) {
    commands_.push_back({"HSET", hash, std::move(field), std::move(doc)});
    few_changed_ = true;
  }

  std::optional<ApiKey>& touch_key(const std::string& key_id) {
    const auto [it, added] = keys_.try_emplace(key_id);
    if (added) key_order_.push_back(key_id);
    return it->second;
  }

  static void log_key(std::string_view key_id, std::string_view former_value, std::string& log,
                      std::unordered_set<std::string_view>& logged) {
    if (!logged.insert(key_id).second && former_value.empty()) return;
    append_logged_key(log, key_id, former_value);
  }

  // The keys written, with their indexes moved from what they were.
  void key_commands(std::vector<RedisCommand>& commands, std::string& log,
                    std::unordered_set<std::string_view>& logged) {
    std::vector<RedisCommand> reads;
    reads.reserve(key_order_.size());
    for (const std::string& id : key_order_) reads.push_back({"HGET", kApiKeys, id});
    const std::vector<RedisReply> before = pipelined(store_.redis_, reads);
    for (std::size_t i = 0; i < key_order_.size(); ++i) {
      const std::string& id = key_order_[i];
      const std::optional<ApiKey> old = decode_key(*before[i]);
      const std::optional<ApiKey>& now = keys_.at(id);
      if (!old && !now) continue;
      if (old) drop_index_commands(*old, now, commands);
      if (now) {
        commands.push_back({"HSET", kApiKeys, id, doc_text(to_json(*now, true))});
        add_index_commands(*now, commands);
      } else {
        commands.push_back({"HDEL", kApiKeys, id});
      }
      log_key(id, old ? std::string_view(old->value) : std::string_view(), log, logged);
    }
  }

  // The memberships begun and ended, each once: one that exists keeps
  // when it began, one that ended is kept as a former one.
  void membership_commands(std::vector<RedisCommand>& commands, std::string& log,
                           std::unordered_set<std::string_view>& logged) {
    std::vector<std::pair<const std::string*, const std::string*>> order;  // (key, plan)
    std::vector<RedisCommand> reads;
    for (const auto& [key, plans] : members_)
      for (const auto& [plan, created] : plans) {
        order.emplace_back(&key, &plan);
        reads.push_back({"HEXISTS", key_plans(key), plan});
      }
    const std::vector<RedisReply> exists = pipelined(store_.redis_, reads);
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::string& key = *order[i].first;
      const std::string& plan = *order[i].second;
      const std::optional<std::int64_t>& created = members_.at(key).at(plan);
      const bool was = reply_integer(*exists[i]) != 0;
      if (created && !was) {
        add_membership_commands(plan, key, *created, commands);
      } else if (!created && was) {
        commands.push_back({"HDEL", key_plans(key), plan});
        commands.push_back({"ZREM", plan_keys(plan), key});
        commands.push_back({"HDEL", kUsagePlanKeys, pair_field(plan, key)});
        commands.push_back({"SADD", plan_former_keys(plan), key});
      } else {
        continue;
      }
      log_key(key, {}, log, logged);
    }
  }

  // The serving entry of each key written, or joining or leaving a plan,
  // written whole: the key as it is now with the plans it is in now. Each
  // bucket holding one is read and written again.
  void serving_commands(std::vector<RedisCommand>& commands) {
    std::map<std::string, std::vector<const std::string*>> by_bucket;
    for (const std::string& id : key_order_) by_bucket[serving_bucket(id)].push_back(&id);
    for (const auto& [id, plans] : members_)
      if (!keys_.contains(id)) by_bucket[serving_bucket(id)].push_back(&id);
    std::vector<RedisCommand> reads;
    reads.reserve(by_bucket.size());
    for (const auto& [bucket, ids] : by_bucket) reads.push_back({"HGET", kServingBuckets, bucket});
    const std::vector<RedisReply> before = pipelined(store_.redis_, reads);
    std::size_t read = 0;
    for (const auto& [bucket, ids] : by_bucket) {
      const redisReply& was = *before[read++];
      std::map<std::string_view, std::string>
          entries;  // ids view the reply or this transaction's keys
      if (was.type == REDIS_REPLY_STRING)
        for (const auto& [id, entry] : bucket_entries(reply_view(was))) entries.emplace(id, entry);
      for (const std::string* id : ids) {
        const auto had = entries.find(*id);
        std::optional<std::string> now =
            serving_entry_now(*id, had == entries.end() ? nullptr : &had->second);
        if (now)
          entries.insert_or_assign(*id, std::move(*now));
        else if (had != entries.end())
          entries.erase(had);
      }
      if (entries.empty()) {
        commands.push_back({"HDEL", kServingBuckets, bucket});
        continue;
      }
      std::string value;
      for (const auto& [id, entry] : entries) append_bucket_entry(value, id, entry);
      commands.push_back({"HSET", kServingBuckets, bucket, std::move(value)});
    }
  }

  // The serving entry `key_id` has once this transaction commits, from the
  // one it had; none when there is no such key.
  std::optional<std::string> serving_entry_now(const std::string& key_id,
                                               const std::string* had) const {
    const auto written = keys_.find(key_id);
    if (written != keys_.end() && !written->second) return std::nullopt;  // deleted
    if (written == keys_.end() && !had) return std::nullopt;              // a membership of no key
    ServingEntry old;
    PlansSince plans;
    if (had) {
      old = parse_serving_entry(*had);
      plans = plans_of_entry(old.plans);
    }
    if (const auto changed = members_.find(key_id); changed != members_.end())
      for (const auto& [plan, since] : changed->second) {
        if (since)
          plans.try_emplace(plan, *since);  // a membership that exists keeps when it began
        else
          plans.erase(plan);
      }
    if (written != keys_.end())
      return serving_entry(written->second->enabled, written->second->value, plans,
                           written->second->customer_id);
    return serving_entry(old.enabled, old.value, plans, old.customer_id);
  }

  RedisStore& store_;
  WriteLock lock_;
  std::vector<RedisCommand> commands_;                           // of the few
  std::unordered_map<std::string, std::optional<ApiKey>> keys_;  // as written here; none: deleted
  std::vector<std::string> key_order_;
  std::unordered_map<std::string, std::string> values_;  // value → id, of keys written here
  // key → plan → since when (none: the membership ends)
  std::unordered_map<std::string, std::map<std::string, std::optional<std::int64_t>>> members_;
  bool few_changed_ = false;
  bool keys_hashed_ = false;
};

std::unique_ptr<ControlTransaction> RedisStore::begin() {
  ensure_layout();
  return std::make_unique<RedisControlTransaction>(*this);
}

void RedisStore::ensure_layout() {
  if (layout_checked_.load(std::memory_order_acquire)) return;
  if (reply_text(*redis_.run({"HGET", kMeta, kLayoutField})) != kLayout) {
    WriteLock lock(redis_);
    // Another process may have built them while this one waited.
    if (reply_text(*redis_.run({"HGET", kMeta, kLayoutField})) != kLayout) {
      std::vector<RedisCommand> commands;
      std::unordered_map<std::string, PlansSince> plans;  // key id → its plans
      {
        RedisReply members = redis_.run({"HGETALL", kUsagePlanKeys});
        for (const auto& [field, created] : hash_entries(*members)) {
          auto [plan, key] = split_field(field);
          add_membership_commands(plan, key, to_int(created), commands);
          plans[std::move(key)].emplace(std::move(plan), to_int(created));
        }
      }
      in_batches(redis_, commands);
      {
        RedisReply keys = redis_.run({"HGETALL", kApiKeys});
        const PlansSince none;
        std::vector<std::string> buckets(kServingBucketCount);
        for (const auto& [id, doc] : hash_entries(*keys)) {
          const ApiKey key = decode_doc(doc, api_key_from_json);
          add_index_commands(key, commands);
          const auto in = plans.find(key.id);
          append_bucket_entry(
              buckets[serving_bucket_number(key.id)], key.id,
              serving_entry(key.enabled, key.value, in == plans.end() ? none : in->second,
                            key.customer_id));
        }
        commands.push_back({"DEL", kServingBuckets, kServingKeysBefore4});
        for (std::uint32_t b = 0; b < kServingBucketCount; ++b)
          if (!buckets[b].empty())
            commands.push_back({"HSET", kServingBuckets, std::to_string(b), std::move(buckets[b])});
      }
      {
        RedisReply former = redis_.run({"HKEYS", kFormerPlanKeys});
        for (const std::string_view field : views(*former)) {
          const auto [plan, key] = split_field(field);
          commands.push_back({"SADD", plan_former_keys(plan), key});
        }
      }
      in_batches(redis_, commands);
      lock.check_held();
      redis_.run({"HSET", kMeta, kLayoutField, kLayout});
    }
  }
  layout_checked_.store(true, std::memory_order_release);
}

std::uint64_t RedisStore::control_version() {
  return static_cast<std::uint64_t>(reply_integer(*redis_.run({"HGET", kMeta, "control_version"})));
}

ControlState RedisStore::load_control_state() { return load_state(false); }
ControlState RedisStore::load_serving_state() { return load_state(true); }

namespace {

// The commands that read the few (APIs, deployments, stages, plans, the
// account, whether keys are hashed), and what their replies hold.
std::vector<RedisCommand> few_commands() {
  return {{"HGETALL", kApis},       {"HGETALL", kDeployments}, {"HGETALL", kStages},
          {"HGETALL", kUsagePlans}, {"GET", kAccount},         {"HGET", kMeta, "keys_hashed"}};
}

ControlState few_of_replies(const std::vector<RedisReply>& r) {
  ControlState s;
  s.apis = decode_docs<RestApi>(*r[0], rest_api_from_json);
  s.deployments = decode_docs<Deployment>(*r[1], deployment_from_json);
  s.stages = decode_docs<Stage>(*r[2], stage_from_json);
  s.usage_plans = decode_docs<UsagePlan>(*r[3], usage_plan_from_json);
  if (r[4]->type == REDIS_REPLY_STRING) s.account = account_from_json(parse_doc(reply_text(*r[4])));
  s.keys_hashed = reply_integer(*r[5]) != 0;
  return s;
}

}  // namespace

ControlState RedisStore::load_state(bool serving) {
  ensure_layout();
  std::vector<RedisCommand> commands = few_commands();
  // Serving, the buckets hold each key with its plans: neither documents
  // to parse nor an order to sort into.
  commands.push_back({"HGETALL", serving ? kServingBuckets : kApiKeys});
  commands.push_back(serving ? RedisCommand{"HLEN", kApiKeys}
                             : RedisCommand{"HGETALL", kUsagePlanKeys});
  const std::vector<RedisReply> r = atomically(redis_, commands);
  ControlState s = few_of_replies(r);
  const redisReply& keys = *r[6];
  if (serving) {
    const auto count = static_cast<std::size_t>(reply_integer(*r[7]));
    s.api_keys.reserve(count);
    s.usage_plan_keys.reserve(count);
    for (std::size_t b = 1; b < keys.elements; b += 2)
      for (const auto& [id, entry] : bucket_entries(reply_view(*keys.element[b]))) {
        const ServingEntry e = parse_serving_entry(entry);
        ApiKey& k = s.api_keys.emplace_back();
        k.id = id;
        k.value = e.value;
        k.enabled = e.enabled;
        k.customer_id = e.customer_id;
        each_plan_of_entry(e.plans, [&](std::string_view plan_id, std::int64_t since) {
          s.usage_plan_keys.push_back({std::string(plan_id), k.id, since});
        });
      }
    return s;
  }
  s.api_keys = decode_docs<ApiKey>(keys, api_key_from_json);
  for (const auto& [field, created] : hash_entries(*r[7])) {
    auto [plan_id, key_id] = split_field(field);
    s.usage_plan_keys.push_back({std::move(plan_id), std::move(key_id), to_int(created)});
  }
  return s;
}

ControlDelta RedisStore::control_delta(std::uint64_t since) {
  ensure_layout();
  ControlDelta delta;
  const std::vector<RedisReply> r =
      atomically(redis_, {{"HGET", kMeta, "control_version"},
                          {"XRANGE", kControlLog, std::to_string(since + 1) + "-0", "+"}});
  delta.version = static_cast<std::uint64_t>(reply_integer(*r[0]));
  if (delta.version == since) return delta;
  delta.keys_only = false;
  if (delta.version < since) return delta;
  // Every version after `since` must be there, in order, each listing keys.
  std::unordered_map<std::string, std::size_t> at;
  std::uint64_t expected = since + 1;
  const redisReply& entries = *r[1];
  for (std::size_t i = 0; i < entries.elements; ++i) {
    const redisReply& entry = *entries.element[i];
    if (entry.elements != 2 || entry.element[1]->elements != 2) return delta;
    const std::string_view id = reply_view(*entry.element[0]);
    if (static_cast<std::uint64_t>(to_int(id.substr(0, id.find('-')))) != expected++) return delta;
    std::optional<std::vector<LoggedKey>> keys;
    try {
      keys = parse_logged_keys(reply_view(*entry.element[1]->element[1]));
    } catch (const std::invalid_argument&) {
      return delta;  // not what a commit writes: rebuild rather than guess
    }
    if (!keys) return delta;
    for (const LoggedKey& key : *keys) {
      const auto [it, added] = at.try_emplace(std::string(key.id), delta.keys.size());
      if (added) delta.keys.push_back({it->first, {}, std::nullopt});
      if (!key.former_value.empty())
        delta.keys[it->second].former_values.emplace_back(key.former_value);
    }
    if (delta.keys.size() > kMaxDeltaKeys) return delta;
  }
  if (expected != delta.version + 1) return delta;
  // The buckets of the changed keys, each read once.
  std::map<std::string, std::size_t> bucket_read;
  std::vector<RedisCommand> reads;
  for (const ChangedKey& key : delta.keys) {
    const auto [it, added] = bucket_read.try_emplace(serving_bucket(key.id), reads.size());
    if (added) reads.push_back({"HGET", kServingBuckets, it->first});
  }
  const std::vector<RedisReply> buckets = pipelined(redis_, reads);
  std::unordered_map<std::string_view, std::string_view> serving;  // id → entry, into the replies
  for (const RedisReply& bucket : buckets)
    if (bucket->type == REDIS_REPLY_STRING)
      for (const auto& [id, entry] : bucket_entries(reply_view(*bucket)))
        serving.emplace(id, entry);
  for (ChangedKey& key : delta.keys) {
    const auto found = serving.find(key.id);
    if (found == serving.end()) continue;
    const ServingEntry e = parse_serving_entry(found->second);
    key.now = ServingKey{key.id, std::string(e.value), e.enabled, std::string(e.customer_id), {}};
    each_plan_of_entry(e.plans, [&key](std::string_view plan_id, std::int64_t since) {
      key.now->memberships.push_back({std::string(plan_id), key.id, since});
    });
  }
  delta.keys_only = true;
  return delta;
}

bool RedisStore::keys_hashed() {
  return reply_integer(*redis_.run({"HGET", kMeta, "keys_hashed"})) != 0;
}

ControlState RedisStore::few() {
  ensure_layout();
  return few_of_replies(atomically(redis_, few_commands()));
}

std::optional<ApiKey> RedisStore::api_key(const std::string& key_id) {
  ensure_layout();
  return decode_key(*redis_.run({"HGET", kApiKeys, key_id}));
}

std::optional<std::string> RedisStore::key_id_with_value(const std::string& value) {
  ensure_layout();
  RedisReply r = redis_.run({"HGET", kKeyValues, value});
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return reply_text(*r);
}

std::vector<UsagePlanKey> RedisStore::plans_of_key(const std::string& key_id) {
  ensure_layout();
  return memberships_of_reply(key_id, *redis_.run({"HGETALL", key_plans(key_id)}));
}

std::optional<UsagePlanKey> RedisStore::membership(const std::string& plan_id,
                                                   const std::string& key_id) {
  ensure_layout();
  RedisReply r = redis_.run({"HGET", key_plans(key_id), plan_id});
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return UsagePlanKey{plan_id, key_id, to_int(reply_view(*r))};
}

std::optional<std::string> RedisStore::key_in_both(const std::string& plan_id,
                                                   const std::string& other_plan_id) {
  ensure_layout();
  RedisReply r =
      redis_.run({"EVAL", kKeyInBoth, "2", plan_keys(plan_id), plan_keys(other_plan_id)});
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return reply_text(*r);
}

namespace {

// The documents of `ids`, in their order; a key deleted meanwhile is left out.
std::vector<ApiKey> keys_of(RedisClient& redis, const std::vector<std::string>& ids) {
  std::vector<ApiKey> out;
  if (ids.empty()) return out;
  RedisCommand command{"HMGET", kApiKeys};
  command.insert(command.end(), ids.begin(), ids.end());
  RedisReply docs = redis.run(command);
  for (std::size_t i = 0; i < docs->elements; ++i)
    if (std::optional<ApiKey> k = decode_key(*docs->element[i])) out.push_back(std::move(*k));
  return out;
}

// Where the page a position token names begins in a sorted set of ids
// scored by creation time, highest first (ties: the higher id first). An id
// no longer there stands after every member scored above it and after those
// of its score whose id sorts above it. Nothing when the token names no
// place.
std::optional<long long> rank_of_position(RedisClient& redis, const std::string& set,
                                          const std::string& position) {
  const PageToken token = parse_page_token(position);
  RedisReply rank = redis.run({"ZREVRANK", set, token.id});
  if (rank->type == REDIS_REPLY_INTEGER) return rank->integer;
  const std::optional<std::int64_t> created = created_of(token);
  if (!created) return std::nullopt;
  const std::string score = std::to_string(*created);
  // The tied members stand in ranks [low, high), their ids descending: the
  // first one below the token's id is found by halving, one member a call,
  // so a million keys made in one second cost twenty calls, not a million ids.
  long long low = reply_integer(*redis.run({"ZCOUNT", set, "(" + score, "+inf"}));
  long long high = low + reply_integer(*redis.run({"ZCOUNT", set, score, score}));
  while (low < high) {
    const long long mid = low + (high - low) / 2;
    RedisReply member = redis.run({"ZREVRANGE", set, std::to_string(mid), std::to_string(mid)});
    const std::vector<std::string_view> ids = views(*member);
    if (!ids.empty() && ids.front() > token.id)
      low = mid + 1;
    else
      high = mid;
  }
  return low;
}

// The page of `ids` (of a sorted set, highest score first) from `position`.
KeyListing page_by_rank(RedisClient& redis, const std::string& set, const KeyQuery& query) {
  KeyListing out;
  long long start = 0;
  if (!query.position.empty()) {
    const std::optional<long long> rank = rank_of_position(redis, set, query.position);
    if (!rank) {
      out.position_found = false;
      return out;
    }
    start = *rank;
  }
  RedisReply page =
      redis.run({"ZREVRANGE", set, std::to_string(start),
                 std::to_string(start + static_cast<long long>(query.limit)), "WITHSCORES"});
  std::vector<std::string> ids;
  std::string next_created;
  for (std::size_t i = 0; i + 1 < page->elements; i += 2) {
    ids.emplace_back(reply_view(*page->element[i]));
    next_created = reply_view(*page->element[i + 1]);
  }
  if (ids.size() > query.limit) {
    out.next_position = page_token(ids.back(), next_created);
    ids.pop_back();
  }
  out.keys = keys_of(redis, ids);
  return out;
}

std::string after_prefix(const std::string& prefix) { return prefix + '\xff'; }

}  // namespace

KeyListing RedisStore::list_api_keys(const KeyQuery& query) {
  ensure_layout();
  if (query.by_name) return list_api_keys_by_name(query);
  if (query.name_prefix.empty())
    return page_by_rank(
        redis_, query.customer_id ? customer_keys(*query.customer_id) : kKeysByCreated, query);
  // A name picks out few keys: all of them are read, then ordered.
  RedisReply names = redis_.run(
      {"ZRANGEBYLEX", kKeysByName, "[" + query.name_prefix, "(" + after_prefix(query.name_prefix)});
  std::vector<std::string> ids;
  for (const std::string_view entry : views(*names)) ids.push_back(split_field(entry).second);
  std::vector<ApiKey> keys = keys_of(redis_, ids);
  if (query.customer_id)
    std::erase_if(keys, [&](const ApiKey& k) { return k.customer_id != *query.customer_id; });
  std::sort(keys.begin(), keys.end(), [](const ApiKey& a, const ApiKey& b) {
    return std::tie(a.created_date, a.id) > std::tie(b.created_date, b.id);
  });
  KeyListing out;
  auto begin = keys.begin();
  if (!query.position.empty()) {
    const PageToken token = parse_page_token(query.position);
    begin =
        std::find_if(keys.begin(), keys.end(), [&](const ApiKey& k) { return k.id == token.id; });
    const std::optional<std::int64_t> created = created_of(token);
    if (begin == keys.end() && created)
      begin = std::find_if(keys.begin(), keys.end(), [&](const ApiKey& k) {
        return std::tie(k.created_date, k.id) < std::tie(*created, token.id);
      });
    else if (begin == keys.end()) {
      out.position_found = false;
      return out;
    }
  }
  for (auto it = begin; it != keys.end(); ++it) {
    if (out.keys.size() == query.limit) {
      out.next_position = page_token(it->id, std::to_string(it->created_date));
      break;
    }
    out.keys.push_back(std::move(*it));
  }
  return out;
}

// The ids of keys whose "name\x1fid" entry is in [from, to), in chunks of
// `chunk` from `offset`, that are in the plan, if the query names one.
std::vector<std::string> RedisStore::keys_by_name(const std::string& from, const std::string& to,
                                                  const std::optional<std::string>& plan_id,
                                                  long long offset, long long chunk, bool& last) {
  RedisReply names = redis_.run({"ZRANGEBYLEX", kKeysByName, from, to, "LIMIT",
                                 std::to_string(offset), std::to_string(chunk)});
  std::vector<std::string> ids;
  for (const std::string_view entry : views(*names)) ids.push_back(split_field(entry).second);
  last = static_cast<long long>(ids.size()) < chunk;
  if (!plan_id) return ids;
  std::vector<RedisCommand> checks;
  for (const std::string& id : ids) checks.push_back({"HEXISTS", key_plans(id), *plan_id});
  const std::vector<RedisReply> in_plan = redis_.pipeline(checks);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (reply_integer(*in_plan[i]) != 0) out.push_back(std::move(ids[i]));
  return out;
}

KeyListing RedisStore::list_api_keys_by_name(const KeyQuery& query) {
  KeyListing out;
  const std::string start = "[" + query.name_prefix;
  const std::string to = "(" + after_prefix(query.name_prefix);
  constexpr long long kChunk = 256;
  if (query.with_total) {
    if (query.name_prefix.empty() && !query.customer_id && !query.plan_id) {
      out.total = static_cast<std::size_t>(reply_integer(*redis_.run({"HLEN", kApiKeys})));
    } else if (query.name_prefix.empty() && !query.customer_id) {
      out.total = plan_key_count(*query.plan_id);
    } else if (!query.customer_id && !query.plan_id) {
      out.total = static_cast<std::size_t>(
          reply_integer(*redis_.run({"ZLEXCOUNT", kKeysByName, start, to})));
    } else {
      // Filtered by name and more: counted by walking what the name matches.
      bool last = false;
      for (long long offset = 0; !last; offset += kChunk) {
        const std::vector<std::string> ids =
            keys_by_name(start, to, query.plan_id, offset, kChunk, last);
        for (const ApiKey& k : keys_of(redis_, ids))
          if (!query.customer_id || k.customer_id == *query.customer_id) ++out.total;
      }
    }
  }
  std::string from = start;
  const PageToken position = parse_page_token(query.position);
  if (position.sort) {
    from = "[" + pair_field(*position.sort, position.id);
  } else if (!query.position.empty()) {
    const std::optional<ApiKey> at = api_key(position.id);
    if (!at) {
      out.position_found = false;
      return out;
    }
    from = "[" + name_entry(*at);
  }
  // Walked in chunks from the position until a page and one more match.
  std::vector<ApiKey> matched;
  bool last = false;
  for (long long offset = 0; !last && matched.size() <= query.limit; offset += kChunk) {
    const std::vector<std::string> ids =
        keys_by_name(from, to, query.plan_id, offset, kChunk, last);
    for (ApiKey& k : keys_of(redis_, ids))
      if ((!query.customer_id || k.customer_id == *query.customer_id) &&
          matched.size() <= query.limit)
        matched.push_back(std::move(k));
  }
  if (matched.size() > query.limit) {
    out.next_position = page_token(matched.back().id, matched.back().name);
    matched.pop_back();
  }
  out.keys = std::move(matched);
  return out;
}

MemberListing RedisStore::list_plan_keys(const MemberQuery& query) {
  ensure_layout();
  MemberListing out;
  const std::string set = plan_keys(query.plan_id);
  long long start = 0;
  if (!query.position.empty()) {
    const std::optional<long long> rank = rank_of_position(redis_, set, query.position);
    if (!rank) {
      out.position_found = false;
      return out;
    }
    start = *rank;
  }
  // With a name, members are walked in chunks until a page and one more match.
  const long long chunk = query.name_prefix.empty() ? static_cast<long long>(query.limit) + 1 : 256;
  std::vector<PlanMember> matched;
  for (long long offset = start;; offset += chunk) {
    RedisReply page = redis_.run({"ZREVRANGE", set, std::to_string(offset),
                                  std::to_string(offset + chunk - 1), "WITHSCORES"});
    std::vector<std::string> ids;
    std::unordered_map<std::string, std::int64_t> joined;
    for (std::size_t i = 0; i + 1 < page->elements; i += 2) {
      ids.emplace_back(reply_view(*page->element[i]));
      joined.emplace(ids.back(), to_int(reply_view(*page->element[i + 1])));
    }
    for (ApiKey& k : keys_of(redis_, ids)) {
      if (!k.name.starts_with(query.name_prefix) || matched.size() > query.limit) continue;
      const std::int64_t created = joined.at(k.id);
      matched.push_back({UsagePlanKey{query.plan_id, k.id, created}, std::move(k)});
    }
    if (static_cast<long long>(ids.size()) < chunk || matched.size() > query.limit) break;
  }
  if (matched.size() > query.limit) {
    const UsagePlanKey& next = matched.back().member;
    out.next_position = page_token(next.key_id, std::to_string(next.created_date));
    matched.pop_back();
  }
  out.members = std::move(matched);
  return out;
}

std::vector<std::string> RedisStore::plan_key_ids(const std::string& plan_id) {
  ensure_layout();
  RedisReply r = redis_.run({"ZRANGE", plan_keys(plan_id), "0", "-1"});
  std::vector<std::string> out;
  for (const std::string_view id : views(*r)) out.emplace_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t RedisStore::plan_key_count(const std::string& plan_id) {
  ensure_layout();
  return static_cast<std::size_t>(reply_integer(*redis_.run({"ZCARD", plan_keys(plan_id)})));
}

std::vector<std::string> RedisStore::former_members(const std::string& plan_id) {
  ensure_layout();
  RedisReply r = redis_.run({"SMEMBERS", plan_former_keys(plan_id)});
  std::vector<std::string> former;
  std::vector<RedisCommand> checks;
  for (const std::string_view key : views(*r)) {
    former.emplace_back(key);
    checks.push_back({"HEXISTS", key_plans(key), plan_id});
  }
  if (former.empty()) return former;
  // A key that left and joined again is a member, not a former one.
  const std::vector<RedisReply> member = pipelined(redis_, checks);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < former.size(); ++i)
    if (reply_integer(*member[i]) == 0) out.push_back(std::move(former[i]));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tollgate
