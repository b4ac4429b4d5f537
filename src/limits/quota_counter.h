#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace tollgate {

// Requests used in the current quota window, packed with the window's id into
// one atomic word so that a rollover and a take are a single compare-and-swap.
// The count may go below zero when UpdateUsage grants more than a window's
// limit. Lock-free; safe to call from any worker thread.
class QuotaCounter {
 public:
  static constexpr int kUsedBits = 42;
  static constexpr std::int64_t kBias = std::int64_t{1} << 40;  // stored = used + kBias
  static constexpr std::int64_t kMinUsed = -kBias;
  static constexpr std::int64_t kMaxUsed = (std::int64_t{1} << kUsedBits) - 1 - kBias;

  // Takes one request from window `window_id` whose limit is `limit`. Returns
  // the requests left after it, or -1 when the window is used up.
  std::int64_t try_take(std::int64_t window_id, std::int64_t limit);
  void give_back(std::int64_t window_id);
  std::int64_t used(std::int64_t window_id) const;
  void set_used(std::int64_t window_id, std::int64_t used);
  // Adds `delta` (which may be negative) to the window's used count.
  void adjust(std::int64_t window_id, std::int64_t delta);

  // A node sharing quotas through Redis serves a key from a lease: its
  // counter then holds the lease left as a negative count (limit 0), so the
  // request path is the same try_take. A positive count marks the window's
  // quota as spent everywhere; zero is a lease still to be asked for.
  void add_lease(std::int64_t window_id, std::int64_t units);
  void mark_spent(std::int64_t window_id);
  // Counts a request refused because the window is marked spent, so that a
  // key still asked for is asked of Redis again; the mark stays above zero.
  void count_refusal(std::int64_t window_id);
  // Clears a spent mark, so that the next request asks for a lease again.
  void forget_spent(std::int64_t window_id);
  // Takes back what is left of the window's lease, and returns it.
  std::int64_t withdraw_lease(std::int64_t window_id);
  std::int64_t lease_left(std::int64_t window_id) const {
    return std::max<std::int64_t>(0, -used(window_id));
  }

 private:
  static constexpr std::uint64_t kMask = (std::uint64_t{1} << kUsedBits) - 1;
  static std::uint64_t pack(std::int64_t window_id, std::int64_t used);
  static std::int64_t window_of(std::uint64_t word) {
    return static_cast<std::int64_t>(word >> kUsedBits);
  }
  // Used in `window_id` as seen from `word`: a word from an older window
  // counts as empty (the window rolled over); one from a newer window (the
  // clock stepped back) keeps its count.
  static std::int64_t used_in(std::uint64_t word, std::int64_t window_id) {
    return window_of(word) < window_id ? 0 : static_cast<std::int64_t>(word & kMask) - kBias;
  }

  std::atomic<std::uint64_t> word_{static_cast<std::uint64_t>(kBias)};
};

}  // namespace tollgate
