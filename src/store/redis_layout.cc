#include "store/redis_layout.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "store/sort_by_texts.h"
#include "store/store.h"

namespace tollgate::redis_layout {

std::string pair_field(std::string_view a, std::string_view b) {
  std::string f(a);
  f += kSep;
  f += b;
  return f;
}

std::pair<std::string, std::string> split_field(std::string_view f) {
  const std::size_t sep = f.find(kSep);
  if (sep == std::string_view::npos) return {std::string(f), {}};
  return {std::string(f.substr(0, sep)), std::string(f.substr(sep + 1))};
}

std::int64_t to_int(std::string_view text) {
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

std::string random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("no random bytes for a lock token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::vector<HashEntry> hash_entries(const redisReply& r) {
  std::vector<HashEntry> out;
  if (r.type != REDIS_REPLY_ARRAY) return out;
  out.reserve(r.elements / 2);
  for (std::size_t i = 0; i + 1 < r.elements; i += 2)
    out.emplace_back(reply_view(*r.element[i]), reply_view(*r.element[i + 1]));
  // Fields often share their first eight bytes ("plan\x1fkey"): the next
  // eight are compared before the whole field.
  sort_by_texts(out, [](const HashEntry& e) {
    return HashEntry(e.first, e.first.substr(std::min<std::size_t>(8, e.first.size())));
  });
  return out;
}

std::vector<RedisReply> atomically(RedisClient& redis, const std::vector<RedisCommand>& commands) {
  std::vector<RedisCommand> wrapped;
  wrapped.reserve(commands.size() + 2);
  wrapped.push_back({"MULTI"});
  wrapped.insert(wrapped.end(), commands.begin(), commands.end());
  wrapped.push_back({"EXEC"});
  std::vector<RedisReply> replies = redis.pipeline(wrapped);
  const redisReply& exec = *replies.back();
  if (exec.type != REDIS_REPLY_ARRAY || exec.elements != commands.size())
    throw StoreUnavailable("Redis at " + redis.address().to_string() +
                           " did not run a transaction");
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < exec.elements; ++i) {
    // Detached from the EXEC reply, so each can be freed on its own.
    redisReply* element = exec.element[i];
    exec.element[i] = nullptr;
    if (element && element->type == REDIS_REPLY_ERROR)
      throw std::runtime_error("Redis refused " + commands[i][0] + ": " +
                               std::string(element->str, element->len));
    out.emplace_back(element);
  }
  return out;
}

void in_batches(RedisClient& redis, std::vector<RedisCommand>& commands, std::size_t batch) {
  for (std::size_t start = 0; start < commands.size(); start += batch) {
    const std::vector<RedisCommand> part(
        commands.begin() + static_cast<std::ptrdiff_t>(start),
        commands.begin() + static_cast<std::ptrdiff_t>(std::min(commands.size(), start + batch)));
    for (const RedisReply& r : redis.pipeline(part))
      if (r->type == REDIS_REPLY_ERROR)
        throw std::runtime_error("Redis refused a command: " + std::string(reply_view(*r)));
  }
  commands.clear();
}

namespace {
constexpr char kRecordSep = '\x1e';
}  // namespace

void append_logged_key(std::string& entry, std::string_view key_id, std::string_view former_value) {
  entry.append(key_id).append(1, kSep).append(former_value).append(1, kRecordSep);
}

std::optional<std::vector<LoggedKey>> parse_logged_keys(std::string_view entry) {
  if (entry == kRebuild) return std::nullopt;
  std::vector<LoggedKey> out;
  for (std::size_t start = 0; start < entry.size();) {
    const std::size_t end = entry.find(kRecordSep, start);
    if (end == std::string_view::npos)
      throw std::invalid_argument("a change log entry ends inside a record");
    const std::string_view record = entry.substr(start, end - start);
    const std::size_t sep = record.find(kSep);
    if (sep == std::string_view::npos || sep == 0)
      throw std::invalid_argument("a change log record without a key id");
    out.push_back({record.substr(0, sep), record.substr(sep + 1)});
    start = end + 1;
  }
  return out;
}

std::string serving_entry(bool enabled, std::string_view value, const PlansSince& plans,
                          std::string_view customer_id) {
  std::string out(enabled ? "1" : "0");
  out += kSep;
  out += value;
  out += kSep;
  for (const auto& [plan, since] : plans) {
    if (out.back() != kSep) out += ' ';
    out.append(plan).append(1, ':').append(std::to_string(since));
  }
  out += kSep;
  out += customer_id;
  return out;
}

ServingEntry parse_serving_entry(std::string_view entry) {
  ServingEntry e;
  if (entry.size() < 2) return e;
  e.enabled = entry[0] == '1';
  const std::size_t second = entry.find(kSep, 2);
  e.value = entry.substr(2, second == std::string_view::npos ? std::string_view::npos : second - 2);
  if (second == std::string_view::npos) return e;
  const std::size_t third = entry.find(kSep, second + 1);
  e.plans = entry.substr(
      second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1);
  if (third != std::string_view::npos) e.customer_id = entry.substr(third + 1);
  return e;
}

std::uint32_t serving_bucket_number(std::string_view key_id) {
  std::uint32_t hash = 2166136261u;
  for (const char c : key_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash % kServingBucketCount;
}

std::string serving_bucket(std::string_view key_id) {
  return std::to_string(serving_bucket_number(key_id));
}

void append_bucket_entry(std::string& bucket, std::string_view key_id, std::string_view entry) {
  bucket.append(key_id)
      .append(1, kSep)
      .append(std::to_string(entry.size()))
      .append(1, kSep)
      .append(entry);
}

std::vector<std::pair<std::string_view, std::string_view>> bucket_entries(std::string_view bucket) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (std::size_t at = 0; at < bucket.size();) {
    const std::size_t id_end = bucket.find(kSep, at);
    if (id_end == std::string_view::npos || id_end == at)
      throw std::invalid_argument("a serving bucket's entry without a key id");
    std::size_t size = 0;
    const char* digits = bucket.data() + id_end + 1;
    const auto [end, ec] = std::from_chars(digits, bucket.data() + bucket.size(), size);
    if (ec != std::errc() || end == digits || end == bucket.data() + bucket.size() || *end != kSep)
      throw std::invalid_argument("a serving bucket's entry without a length");
    const std::size_t entry_at = static_cast<std::size_t>(end - bucket.data()) + 1;
    if (size > bucket.size() - entry_at)
      throw std::invalid_argument("a serving bucket's entry cut short");
    out.emplace_back(bucket.substr(at, id_end - at), bucket.substr(entry_at, size));
    at = entry_at + size;
  }
  return out;
}

void each_plan_of_entry(std::string_view plans,
                        const std::function<void(std::string_view, std::int64_t)>& fn) {
  for (std::size_t start = 0; start < plans.size();) {
    std::size_t end = plans.find(' ', start);
    if (end == std::string_view::npos) end = plans.size();
    const std::string_view one = plans.substr(start, end - start);
    const std::size_t colon = one.find(':');
    if (colon == 0 || colon == std::string_view::npos)
      throw std::invalid_argument("a serving entry's plan without an id");
    std::int64_t since = 0;
    const std::string_view digits = one.substr(colon + 1);
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), since);
    if (ec != std::errc() || ptr != digits.data() + digits.size())
      throw std::invalid_argument("a serving entry's plan without a time");
    fn(one.substr(0, colon), since);
    start = end + 1;
  }
}

PlansSince plans_of_entry(std::string_view plans) {
  PlansSince out;
  each_plan_of_entry(
      plans, [&out](std::string_view plan, std::int64_t since) { out.emplace(plan, since); });
  return out;
}

}  // namespace tollgate::redis_layout
