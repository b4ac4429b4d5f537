#include "gate/gate.h"

#include <algorithm>

#include "limits/quota_window.h"
#include "metering/usage_slot.h"

namespace tollgate {
namespace {

constexpr int kMaxSteps = 5;

// One limit the request must pass: a token bucket, or the key's quota.
// Trivial, so that the array of them costs nothing to set up.
struct Step {
  TokenBucket* bucket;  // null for the quota step
  const BucketParams* params;
  const char* policy;
};

Step bucket_step(const LimitRef& l, const char* policy) { return {l.bucket, &l.params, policy}; }

std::int64_t ceil_seconds(std::int64_t nanos) {
  return std::max<std::int64_t>(1, (nanos + kNanosPerSecond - 1) / kNanosPerSecond);
}

std::int64_t bucket_window_s(const BucketParams& p) {
  if (p.blocks_all) return 1;
  return ceil_seconds(p.capacity_ns);
}

LimitReport bucket_report(const Step& s, UnixNanos now) {
  const BucketParams& p = *s.params;
  const BucketLevel level = s.bucket->level(p, now);
  return {s.policy, p.burst, bucket_window_s(p), level.remaining, level.seconds_to_full};
}

class QuotaStep {
 public:
  QuotaStep(const KeyBinding& b, bool leased, UnixNanos now)
      : counter_(b.state->quota_for(b.plan->quota->period)),
        now_s_(now / kNanosPerSecond),
        window_(current_quota_window(b.plan->quota->period, now_s_)),
        limit_(quota_limit_for(*b.plan->quota, window_.id, b.initial_window_id)),
        leased_(leased) {}

  // A leased quota is taken from the lease, which the counter holds below
  // zero; `remaining` is then what is left of the lease.
  bool try_take() {
    remaining_ = counter_.try_take(window_.id, leased_ ? 0 : limit_);
    return remaining_ >= 0;
  }
  void give_back() { counter_.give_back(window_.id); }
  // Refused for want of a lease, not because the quota is spent. A refusal
  // for a spent leased quota is counted: the node asks Redis again while
  // its key is asked for.
  bool awaits_lease() const {
    if (!leased_) return false;
    if (counter_.used(window_.id) == 0) return true;
    counter_.count_refusal(window_.id);
    return false;
  }
  std::int64_t seconds_to_reset() const {
    return std::max<std::int64_t>(1, window_.end_unix_s - now_s_);
  }
  LimitReport report() const {
    return {"quota", limit_, window_.end_unix_s - window_.start_unix_s,
            std::max<std::int64_t>(0, remaining_), seconds_to_reset()};
  }
  QuotaClaim claim(const KeyBinding& b, std::string_view key_id) const {
    return {.counter = &counter_,
            .plan_id = b.plan->plan_id,
            .key_id = key_id,
            .window_id = window_.id,
            .window_end_s = window_.end_unix_s,
            .first_day = window_.first_day,
            .last_day = window_.last_day,
            .limit = limit_,
            .period = b.plan->quota->period};
  }

 private:
  QuotaCounter& counter_;
  std::int64_t now_s_;
  QuotaWindow window_;
  std::int64_t limit_;
  bool leased_;
  std::int64_t remaining_ = 0;
};

}  // namespace

Catalog::Key find_key(const Catalog& catalog, std::string_view api_key) {
  // No key is longer: a longer value is not hashed, nor looked for.
  if (api_key.size() > kMaxKeyValueSize) return {};
  KeyHasher::Stored digest;
  const KeyHasher* hasher = catalog.key_hasher();
  return catalog.find_key(hasher ? hasher->stored(api_key, digest) : api_key);
}

namespace {

// The key's binding to a plan covering `stage`; none (plan null) when the
// key is unknown, disabled or in no such plan. Sets the key's id when known.
KeyBinding find_binding(const Catalog& catalog, const StageEntry& stage,
                        std::optional<std::string_view> api_key, std::string_view& key_id) {
  if (!api_key) return {};
  const Catalog::Key key = find_key(catalog, *api_key);
  if (!key) return {};
  key_id = key.id();
  return key.enabled() ? key.binding(&stage) : KeyBinding{};
}

// Counts a refused request of a key under a plan toward the console's
// chart of the last hour.
void count_refusal(const KeyBinding& b, UnixNanos now, RefusalKind why) {
  if (b.usage) b.usage->count_refusal(now / (kNanosPerSecond * 60), why);
}

}  // namespace

bool key_may_call(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                  std::optional<std::string_view> api_key) {
  if (!stage.methods[method_index].api_key_required) return true;
  std::string_view key_id;
  return find_binding(catalog, stage, api_key, key_id).plan != nullptr;
}

namespace {

// The limits a request must pass, in the contract's order (spec §10.2).
struct Steps {
  Step step[kMaxSteps];
  int count = 0;
  std::optional<QuotaStep> quota;
};

// Fills `steps` for a request of `method`, under `binding` when the method
// requires a key (which then has a plan).
inline void limits_of(const Catalog& catalog, const RouteMethod& method, std::uint32_t method_index,
                      const KeyBinding& binding, UnixNanos now, Steps& steps) {
  if (method.api_key_required) {
    if (const LimitRef* m = binding.method_limit(method_index))
      steps.step[steps.count++] = bucket_step(*m, "method");
    if (binding.plan->key_throttle)
      steps.step[steps.count++] = {&binding.state->bucket, &*binding.plan->key_throttle, "key"};
    if (binding.plan->quota) {
      steps.quota.emplace(binding, catalog.quota_leased(), now);
      steps.step[steps.count++] = {nullptr, nullptr, "quota"};
    }
  }
  if (method.stage_limit) steps.step[steps.count++] = bucket_step(*method.stage_limit, "stage");
  steps.step[steps.count++] = bucket_step(catalog.account_limit(), "account");
}

// Gives back what the first `taken` steps took, in reverse order.
void give_back(Steps& steps, int taken) {
  for (int j = taken - 1; j >= 0; --j) {
    if (steps.step[j].bucket)
      steps.step[j].bucket->give_back(*steps.step[j].params);
    else
      steps.quota->give_back();
  }
}

}  // namespace

PresentedKey present_key(const Catalog& catalog, const StageEntry& stage,
                         std::optional<std::string_view> api_key) {
  PresentedKey key;
  key.binding = find_binding(catalog, stage, api_key, key.key_id);
  return key;
}

namespace {

GateDecision admit_bound(const Catalog& catalog, const StageEntry& stage,
                         std::uint32_t method_index, const KeyBinding& binding,
                         std::string_view key_id, UnixNanos now) {
  GateDecision d;
  const RouteMethod& method = stage.methods[method_index];
  if (method.api_key_required) {
    d.key_id = key_id;
    if (!binding.plan) {
      d.verdict = Verdict::kForbidden;
      return d;
    }
    d.plan_id = binding.plan->plan_id;
  }
  Steps steps;
  limits_of(catalog, method, method_index, binding, now, steps);
  std::optional<QuotaStep>& quota = steps.quota;

  for (int i = 0; i < steps.count; ++i) {
    const Step& s = steps.step[i];
    std::int64_t wait_ns = 0;
    const bool taken = s.bucket ? s.bucket->try_take(*s.params, now, wait_ns) : quota->try_take();
    if (taken) continue;
    give_back(steps, i);
    if (s.bucket) {
      count_refusal(binding, now, RefusalKind::kThrottled);
      d.verdict = Verdict::kThrottled;
      d.retry_after_s = static_cast<std::int32_t>(ceil_seconds(wait_ns));
      d.report = bucket_report(s, now);
      d.report.remaining = 0;
      d.report.reset_s = d.retry_after_s;
    } else if (quota->awaits_lease()) {
      d.verdict = Verdict::kAwaitLease;
    } else {
      count_refusal(binding, now, RefusalKind::kQuotaExceeded);
      d.verdict = Verdict::kQuotaExceeded;
      d.retry_after_s = static_cast<std::int32_t>(quota->seconds_to_reset());
      d.report = quota->report();
    }
    return d;
  }

  if (binding.usage) binding.usage->count(now);
  for (int i = 0; i < steps.count; ++i) {
    const LimitReport r =
        steps.step[i].bucket ? bucket_report(steps.step[i], now) : quota->report();
    if (!d.report.policy || r.remaining < d.report.remaining) d.report = r;
  }
  return d;
}

}  // namespace

GateDecision admit(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                   std::optional<std::string_view> api_key, UnixNanos now) {
  // A method that needs no key does not look for one.
  if (!stage.methods[method_index].api_key_required)
    return admit_bound(catalog, stage, method_index, {}, {}, now);
  std::string_view key_id;
  const KeyBinding binding = find_binding(catalog, stage, api_key, key_id);
  return admit_bound(catalog, stage, method_index, binding, key_id, now);
}

GateDecision admit(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                   const PresentedKey& key, UnixNanos now) {
  return admit_bound(catalog, stage, method_index, key.binding, key.key_id, now);
}

void refund(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
            std::optional<std::string_view> api_key, UnixNanos decided_at) {
  const RouteMethod& method = stage.methods[method_index];
  KeyBinding binding;
  if (method.api_key_required) {
    std::string_view key_id;
    binding = find_binding(catalog, stage, api_key, key_id);
    if (!binding.plan) return;  // admit() found it in this same catalog
  }
  Steps steps;
  limits_of(catalog, method, method_index, binding, decided_at, steps);
  give_back(steps, steps.count);
  if (binding.usage) binding.usage->uncount(decided_at);
}

std::optional<QuotaClaim> quota_claim(const Catalog& catalog, const PresentedKey& key,
                                      UnixNanos now) {
  const KeyBinding& binding = key.binding;
  if (!binding.plan || !binding.plan->quota) return std::nullopt;
  return QuotaStep(binding, catalog.quota_leased(), now).claim(binding, key.key_id);
}

void count_quota_refusal(const PresentedKey& key, UnixNanos now) {
  count_refusal(key.binding, now, RefusalKind::kQuotaExceeded);
}

}  // namespace tollgate
