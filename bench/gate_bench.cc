// Micro benchmark of the decision path: route match + admit() over a catalog
// of N keys in one usage plan, with every limit generous enough that each
// decision is an allow. Reports decisions per second and heap allocations per
// decision (the hot path promises none).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/huge_pages.h"
#include "core/utc_date.h"
#include "gate/gate.h"
#include "limits/limit_states.h"
#include "model/types.h"

namespace {

// Per thread, so that the benchmark library's own threads never pollute the
// figure; only the measured loop turns counting on.
thread_local bool t_counting = false;
thread_local std::uint64_t t_allocs = 0;

void* counted_alloc(std::size_t size, std::size_t align) {
  if (t_counting) ++t_allocs;
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else {
    // aligned_alloc wants a size that is a multiple of the alignment.
    p = std::aligned_alloc(align, (size + align - 1) / align * align);
  }
  return p;
}

void* counted_alloc_or_throw(std::size_t size, std::size_t align) {
  void* p = counted_alloc(size, align);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

// Every replaceable form, so aligned types (KeyPlanState is alignas(64)) are
// counted too and every pointer is freed by the allocator that made it.
void* operator new(std::size_t n) { return counted_alloc_or_throw(n, 0); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_alloc_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace tollgate {
namespace {

constexpr std::int64_t kDay = 86400;
// Mid-month, so no run crosses a quota window boundary.
const std::int64_t kStartS = days_from_civil({2026, 3, 14}) * kDay + 12 * 3600;
// Virtual time per decision, per thread. With rate 1e9 (1 ns per token) every
// bucket refills faster than it is drained, so nothing is throttled. Threads
// keep their own time; the shared account bucket tolerates one running ahead
// of the other by its capacity (1 s), i.e. by 10^7 decisions at this step.
constexpr std::int64_t kStepNs = 100;
constexpr std::string_view kPath = "/pets";
constexpr std::string_view kMethod = "GET";

// One catalog with `n` keys, kept for the whole process: building a million
// keys takes seconds and must not be repeated per benchmark run.
struct Fixture {
  LimitStates limits;                 // outlives the catalog, as in the gateway
  std::deque<UsageSlot> usage_slots;  // in memory here; a mapped file in the gateway
  std::shared_ptr<const Catalog> catalog;
  const StageEntry* stage = nullptr;
  // Key values back to back in round-robin order: a request's key sits in its
  // already-hot header buffer, so reading it here must not cost a cache miss.
  std::string key_arena;
  std::vector<std::string_view> key_order;
};

// With `spent`, the plan's quota is 0: every decision is a refusal.
ControlState bench_state(std::int64_t n, std::vector<std::string>& key_values, bool spent) {
  ControlState s;
  s.account.throttle = Throttle{1e9, 1'000'000'000};
  RestApi api;
  api.id = "bench01";
  api.name = "bench";
  Method get;
  get.http_method = "GET";
  get.api_key_required = true;
  get.integration = Integration{};  // MOCK
  Resource root{"r0", "", "", "/", {}};
  Resource pets{"r1", "r0", "pets", "/pets", {}};
  pets.methods["GET"] = get;
  api.resources = {root, pets};
  s.apis.push_back(api);
  s.deployments.push_back({"bench01", "d1", "", 0, api.resources, {}});
  Stage stage;
  stage.api_id = "bench01";
  stage.stage_name = "prod";
  stage.deployment_id = "d1";
  s.stages.push_back(std::move(stage));

  UsagePlan plan;
  plan.id = "plan1";
  plan.name = "bench";
  plan.api_stages = {{"bench01", "prod", {}}};
  plan.throttle = Throttle{1e9, 1'000'000'000};
  plan.quota = Quota{spent ? 0 : std::int64_t{1} << 40, 0, QuotaPeriod::kMonth};
  s.usage_plans.push_back(plan);

  key_values.reserve(n);
  s.api_keys.reserve(n);
  s.usage_plan_keys.reserve(n);
  char value[32];
  for (std::int64_t i = 0; i < n; ++i) {
    std::snprintf(value, sizeof value, "bench-key-%016llx", static_cast<unsigned long long>(i));
    key_values.emplace_back(value);
    const std::string id = "k" + std::to_string(i);
    ApiKey key;
    key.id = id;
    key.value = value;
    key.name = id;
    key.enabled = true;
    s.api_keys.push_back(std::move(key));
    s.usage_plan_keys.push_back({"plan1", id, kStartS});
  }
  return s;
}

// With `hashed`, the store keeps the keys hashed (--hash-keys).
Fixture& fixture(std::int64_t n, bool hashed, bool spent) {
  static std::mutex mutex;
  static std::map<std::tuple<std::int64_t, bool, bool>, std::unique_ptr<Fixture>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[{n, hashed, spent}];
  if (slot) return *slot;
  slot = std::make_unique<Fixture>();
  Fixture& f = *slot;
  std::vector<std::string> key_values;
  {
    // Scoped: the control state of a million keys is large and not needed
    // once the catalog is built.
    ControlState state = bench_state(n, key_values, spent);
    std::shared_ptr<const KeyHasher> hasher;
    if (hashed) {
      hasher = std::make_shared<const KeyHasher>(std::string(32, 's'));
      for (ApiKey& key : state.api_keys) key.value = hasher->stored(key.value);
      state.keys_hashed = true;
    }
    const UsageLoader no_usage = [](const std::string&, const std::string&, QuotaPeriod,
                                    std::int64_t, std::int64_t) { return std::int64_t{0}; };
    const MemberProvider slots = [&f](std::size_t) {
      return MemberRefs{&f.usage_slots.emplace_back(), std::nullopt};
    };
    f.catalog = build_catalog(
        state, f.limits, no_usage, slots,
        CatalogBuild{.now = kStartS * kNanosPerSecond, .version = 1, .key_hasher = hasher});
  }
  f.stage = f.catalog->stage("bench01", "prod");
  // Shuffled so consecutive decisions touch unrelated keys, as real traffic
  // does, rather than walking the limit state in allocation order.
  std::shuffle(key_values.begin(), key_values.end(), std::mt19937_64(42));
  for (const auto& v : key_values) f.key_arena += v;
  f.key_order.reserve(key_values.size());
  std::size_t offset = 0;
  for (const auto& v : key_values) {
    f.key_order.emplace_back(f.key_arena.data() + offset, v.size());
    offset += v.size();
  }
  return f;
}

// The clock carries on across runs: buckets keep their state between runs
// (the fixture is shared), so restarting time would find them in debt.
std::atomic<UnixNanos> g_clock{kStartS * kNanosPerSecond};

// Every decision must be `expected`.
void run_admit(benchmark::State& state, bool hashed, Verdict expected = Verdict::kAllow) {
  const std::int64_t n = state.range(0);
  Fixture& f = fixture(n, hashed, expected == Verdict::kQuotaExceeded);
  PathParams probe;
  if (!f.stage || f.catalog->key_count() != static_cast<std::size_t>(n) ||
      f.stage->routes.match(kPath, kMethod, probe) == RouteTree::kNoMatch) {
    state.SkipWithError("fixture catalog is incomplete");
    return;
  }
  const Catalog& catalog = *f.catalog;
  const StageEntry& stage = *f.stage;
  const std::vector<std::string_view>& keys = f.key_order;

  // Threads start far apart in the key order, so they contend on the shared
  // account bucket, not on one key by accident.
  const auto threads = static_cast<std::size_t>(state.threads());
  const auto thread = static_cast<std::size_t>(state.thread_index());
  std::size_t next = keys.size() * thread / threads;
  UnixNanos now = g_clock.load() + static_cast<std::int64_t>(thread);
  std::uint64_t refused = 0;
  std::uint64_t decisions = 0;

  t_allocs = 0;
  t_counting = true;
  for (auto _ : state) {
    const std::string_view key = keys[next];
    if (++next == keys.size()) next = 0;
    now += kStepNs;
    PathParams params;
    const std::uint32_t index = stage.routes.match(kPath, kMethod, params);
    const GateDecision d = admit(catalog, stage, index, key, now);
    benchmark::DoNotOptimize(d);
    refused += d.verdict != expected;
    ++decisions;
  }
  t_counting = false;

  UnixNanos seen = g_clock.load();
  while (seen < now && !g_clock.compare_exchange_weak(seen, now)) {
  }
  if (refused != 0) {
    state.SkipWithError("some decisions were not the expected verdict");
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(decisions));
  // Summed over threads, then divided by all threads' iterations.
  state.counters["allocs_per_decision"] =
      benchmark::Counter(static_cast<double>(t_allocs), benchmark::Counter::kAvgIterations);
}

void BM_Admit(benchmark::State& state) { run_admit(state, false); }
// The same with the keys stored hashed: one HMAC-SHA256 more per decision.
void BM_AdmitHashedKey(benchmark::State& state) { run_admit(state, true); }
// Refused for a spent quota: the refusal is counted for the console's chart.
void BM_AdmitQuotaSpent(benchmark::State& state) {
  run_admit(state, false, Verdict::kQuotaExceeded);
}

BENCHMARK(BM_Admit)->Arg(1)->Arg(10'000)->Arg(1'000'000)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_AdmitHashedKey)->Arg(1)->Arg(10'000)->Arg(1'000'000)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_AdmitQuotaSpent)->Arg(1)->Arg(1'000'000)->MinTime(1.0)->UseRealTime();
// Two threads: with one key both hit the same key's limits (a hot key); with
// more they share only the account bucket.
BENCHMARK(BM_Admit)->Arg(1)->Arg(10'000)->Arg(1'000'000)->Threads(2)->MinTime(1.0)->UseRealTime();

// The floor under the decision path: one load that depends on the one before,
// over `MB` of memory on huge pages, visited in random order. A decision at a
// million keys cannot cost less than its dependent loads at this latency.
void BM_DependentLoad(benchmark::State& state) {
  struct alignas(64) Line {
    const Line* next;
  };
  const std::size_t lines = static_cast<std::size_t>(state.range(0)) * (1 << 20) / sizeof(Line);
  std::vector<Line> memory;
  assign_on_huge_pages(memory, lines, Line{});
  std::vector<std::size_t> order(lines);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  for (std::size_t i = 0; i < lines; ++i) memory[order[i]].next = &memory[order[(i + 1) % lines]];
  const Line* at = &memory[order[0]];
  for (auto _ : state) {
    at = at->next;
    benchmark::DoNotOptimize(at);
  }
}

BENCHMARK(BM_DependentLoad)->Arg(4)->Arg(64)->Arg(256)->MinTime(1.0)->UseRealTime();

}  // namespace
}  // namespace tollgate

BENCHMARK_MAIN();
