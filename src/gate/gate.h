#pragma once

// The decision path: API key → usage plan → throttles → quota, in the
// contract's order (spec §10.2). Pure logic over a catalog snapshot and a
// clock reading; no lock, no allocation, no exception.

#include <cstdint>
#include <optional>
#include <string_view>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "limits/quota_claim.h"

namespace tollgate {

// kAwaitLease: the key's quota is leased (Catalog::quota_leased) and this
// node holds none of it; ask for one (quota_claim) and decide again.
enum class Verdict : std::uint8_t { kAllow, kForbidden, kThrottled, kQuotaExceeded, kAwaitLease };

// One limit as the RateLimit-Policy / RateLimit header fields describe it.
struct LimitReport {
  const char* policy = nullptr;  // nullptr: nothing to report
  std::int64_t quota = 0;        // requests the policy allows per window
  std::int64_t window_s = 0;
  std::int64_t remaining = 0;
  std::int64_t reset_s = 0;  // seconds until `remaining` is back to `quota`
};

// Kept to 80 bytes: zeroing a larger one takes a slow `rep stos` on x86-64.
struct GateDecision {
  Verdict verdict = Verdict::kAllow;
  std::int32_t retry_after_s = 0;  // on 429; at most a quota period
  // On refusal the limit that refused; when allowed the tightest one.
  LimitReport report;
  std::string_view key_id;   // the key's, when the request named a known key
  std::string_view plan_id;  // set when a usage plan applied
  // Both point into the catalog decided on, which must outlive their use.
};
static_assert(sizeof(GateDecision) <= 80);

// Whether the request could be admitted at all: the method needs no key, or
// `api_key` is known, enabled and in a plan covering `stage`. Takes from no
// limit; lets a request be refused before its body is read.
bool key_may_call(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                  std::optional<std::string_view> api_key);

// Decides one request for method `method_index` of `stage`. `api_key` is the
// x-api-key header, if any. Takes from every limit or from none, and counts
// an admitted request toward the key's usage.
GateDecision admit(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                   std::optional<std::string_view> api_key, UnixNanos now);

// The key a request presented, found once in a catalog for a stage: for a
// request that decides more than once (one that waits for a quota lease).
// Points into the catalog, which must outlive it.
struct PresentedKey {
  std::string_view key_id;  // empty when no known key was presented
  KeyBinding binding;       // plan null when the key may not call the stage
};
PresentedKey present_key(const Catalog& catalog, const StageEntry& stage,
                         std::optional<std::string_view> api_key);

// admit() for a key already found in `catalog` for `stage`.
GateDecision admit(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
                   const PresentedKey& key, UnixNanos now);

// Gives back everything admit() took for a request it allowed at
// `decided_at` that the gateway then refused itself, before the request's
// integration had it (the 503 when too many requests wait for the
// backend): the request is neither billed nor charged to any limit. Must
// be called with the catalog, stage, method and key admit() was.
void refund(const Catalog& catalog, const StageEntry& stage, std::uint32_t method_index,
            std::optional<std::string_view> api_key, UnixNanos decided_at);

// The catalog's record of the key whose value was presented (hashed first
// when the catalog keeps keys hashed); null when there is none.
Catalog::Key find_key(const Catalog& catalog, std::string_view api_key);

// The lease a request that got kAwaitLease waits for; none when the key is
// no longer bound to a plan with a quota. Takes from no limit.
std::optional<QuotaClaim> quota_claim(const Catalog& catalog, const PresentedKey& key,
                                      UnixNanos now);

// Counts, toward the key's requests by outcome, a request refused for its
// quota outside admit(): one that waited for a lease in vain.
void count_quota_refusal(const PresentedKey& key, UnixNanos now);

}  // namespace tollgate
