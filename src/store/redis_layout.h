#pragma once

// How the Redis store lays out its keys, and the helpers both of its files
// (redis_store.cc: usage and meter; redis_control.cc: control state) use.
//
// Control state: each kind's documents in one hash (a rebuild reads them
// with one HGETALL; an entity is one field, read and written by its id),
// and beside them, per entity, what finds it: a key's plans, a plan's keys,
// a customer's keys, and the indexes by value, creation and name. Keys of
// one key's or one plan's own entries share a hash tag ({k...}, {p...}).
// Every committed change appends to a Stream, the change log, whose entry
// ids are the control versions.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/redis_client.h"
#include "store/stored_doc.h"

namespace tollgate::redis_layout {

// Hash names and the separator of two-part fields ("api\x1fid"): the unit
// separator, which no id, name or key value may hold.
inline constexpr const char* kMeta = "tollgate:meta";
inline constexpr const char* kApis = "tollgate:apis";
inline constexpr const char* kDeployments = "tollgate:deployments";
inline constexpr const char* kStages = "tollgate:stages";
inline constexpr const char* kApiKeys = "tollgate:api_keys";
inline constexpr const char* kUsagePlans = "tollgate:usage_plans";
inline constexpr const char* kUsagePlanKeys = "tollgate:usage_plan_keys";
inline constexpr const char* kAccount = "tollgate:account";
inline constexpr const char* kUsageDays = "tollgate:usage_days";
inline constexpr const char* kWriteLock = "tollgate:write_lock";
inline constexpr const char* kNodes = "tollgate:nodes";
// Memberships that ended, before they were kept per plan: fields "plan\x1fkey".
inline constexpr const char* kFormerPlanKeys = "tollgate:former_plan_keys";
// What the data plane serves of each key (its serving entry, below), read
// at a start instead of the documents: in kServingBucketCount fields, a
// key's by a stable hash of its id, each holding its keys' entries one
// after another. Redis sends a few thousand large values as copies of
// memory, where a field per key took it most of a second for a million.
inline constexpr const char* kServingBuckets = "tollgate:serving_buckets";
inline constexpr std::uint32_t kServingBucketCount = 4096;
// Before layout 4: a field per key.
inline constexpr const char* kServingKeysBefore4 = "tollgate:serving_keys";
inline constexpr const char* kKeyValues = "tollgate:api_key_values";  // value → id
inline constexpr const char* kKeysByCreated =
    "tollgate:api_keys_by_created";  // ids scored by creation
inline constexpr const char* kKeysByName =
    "tollgate:api_keys_by_name";                                    // "name\x1fid", all scored 0
inline constexpr const char* kControlLog = "tollgate:control_log";  // a Stream: entry <version>-1
// The layout the indexes above are built for; a store without it has them
// built once (RedisStore::ensure_layout).
inline constexpr const char* kLayoutField = "layout";
inline constexpr const char* kLayout = "4";
inline constexpr char kSep = '\x1f';

// A key's plans: plan id → when it joined.
inline std::string key_plans(std::string_view key_id) {
  return "tollgate:{k" + std::string(key_id) + "}:plans";
}
// A plan's keys, scored by when they joined.
inline std::string plan_keys(std::string_view plan_id) {
  return "tollgate:{p" + std::string(plan_id) + "}:keys";
}
// The keys that were in a plan and are not now.
inline std::string plan_former_keys(std::string_view plan_id) {
  return "tollgate:{p" + std::string(plan_id) + "}:former";
}
// A customer's keys, scored by creation.
inline std::string customer_keys(std::string_view customer_id) {
  return "tollgate:customer_keys:" + std::string(customer_id);
}

// How long a writer holds the store at most, and waits for it.
inline constexpr std::chrono::seconds kLockLease{60};
inline constexpr std::chrono::seconds kLockWait{5};
inline constexpr const char* kReleaseLock =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

std::string pair_field(std::string_view a, std::string_view b);
std::pair<std::string, std::string> split_field(std::string_view f);
std::int64_t to_int(std::string_view text);
std::string random_token();

using HashEntry = std::pair<std::string_view, std::string_view>;
// The field/value pairs of an HGETALL reply, sorted by field: views into the
// reply, which must outlive them.
std::vector<HashEntry> hash_entries(const redisReply& r);

template <typename T, typename Decode>
std::vector<T> decode_docs(const redisReply& r, Decode decode) {
  std::vector<T> out;
  for (const auto& [field, doc] : hash_entries(r)) out.push_back(decode_doc(doc, decode));
  return out;
}

// Runs `commands` in one MULTI/EXEC; the replies of the commands.
std::vector<RedisReply> atomically(RedisClient& redis, const std::vector<RedisCommand>& commands);

// Runs `commands` in pipelines of at most `batch`: for what need not be
// atomic (building indexes) and would not fit one request.
void in_batches(RedisClient& redis, std::vector<RedisCommand>& commands, std::size_t batch = 10000);

// A string reply's text as a view into it ("" for nil).
inline std::string_view reply_view(const redisReply& r) {
  return {r.str ? r.str : "", r.str ? r.len : 0};
}

// A change log entry's text: "*" when a rebuild is needed, else each key
// changed as "id\x1fthe value it had\x1e" (the value empty for none).
inline constexpr std::string_view kRebuild = "*";
void append_logged_key(std::string& entry, std::string_view key_id, std::string_view former_value);
struct LoggedKey {
  std::string_view id;
  std::string_view former_value;
};
// The keys an entry names, in order; none for kRebuild. Throws
// std::invalid_argument for text no commit writes.
std::optional<std::vector<LoggedKey>> parse_logged_keys(std::string_view entry);

// The serving entry of a key: all a data plane loads of it, in the one
// hash a node reads at its start. "E\x1fVALUE\x1fPLANS\x1fCUSTOMER": E is 1
// when the key is enabled; PLANS is "PLAN:SINCE" for each plan the key is
// in, space-separated (plan ids are letters, digits, '-' and '_'); the
// customer comes last, as a customerId may hold any character.
using PlansSince = std::map<std::string, std::int64_t>;  // plan id → when the key joined it
std::string serving_entry(bool enabled, std::string_view value, const PlansSince& plans,
                          std::string_view customer_id);
struct ServingEntry {
  bool enabled = false;
  std::string_view value;
  std::string_view plans;  // as written; read with plans_of_entry
  std::string_view customer_id;
};
ServingEntry parse_serving_entry(std::string_view entry);
// The bucket (its field in kServingBuckets) of a key id: FNV-1a, the same
// on every node and build.
std::uint32_t serving_bucket_number(std::string_view key_id);
std::string serving_bucket(std::string_view key_id);
// A bucket's value is its entries as "ID\x1fLENGTH\x1fENTRY", one after
// another (an entry's customer may hold any character, so it is counted).
void append_bucket_entry(std::string& bucket, std::string_view key_id, std::string_view entry);
// The (id, entry) pairs of a bucket's value. Throws std::invalid_argument
// for text no commit writes.
std::vector<std::pair<std::string_view, std::string_view>> bucket_entries(std::string_view bucket);
// The plans of an entry's PLANS text. Throws std::invalid_argument for
// text no commit writes.
PlansSince plans_of_entry(std::string_view plans);
// The same, one by one: fn(plan_id, since).
void each_plan_of_entry(std::string_view plans,
                        const std::function<void(std::string_view, std::int64_t)>& fn);

}  // namespace tollgate::redis_layout
