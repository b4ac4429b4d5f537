#pragma once

#include <atomic>
#include <cstdint>

namespace tollgate {

// Requests used in the current quota window, packed with the window's id into
// one atomic word so that a rollover and a take are a single compare-and-swap.
// Lock-free; safe to call from any worker thread.
class QuotaCounter {
 public:
  static constexpr int kUsedBits = 42;  // up to 4.4e12 requests per window
  static constexpr std::uint64_t kMaxUsed = (std::uint64_t{1} << kUsedBits) - 1;

  // Takes one request from window `window_id` whose limit is `limit`. Returns
  // the requests left after it, or -1 when the window is used up.
  std::int64_t try_take(std::int64_t window_id, std::int64_t limit);
  void give_back(std::int64_t window_id);
  std::int64_t used(std::int64_t window_id) const;
  void set_used(std::int64_t window_id, std::int64_t used);

 private:
  static std::uint64_t pack(std::int64_t window_id, std::uint64_t used) {
    return (static_cast<std::uint64_t>(window_id) << kUsedBits) | used;
  }
  static std::int64_t window_of(std::uint64_t word) {
    return static_cast<std::int64_t>(word >> kUsedBits);
  }
  static std::uint64_t used_of(std::uint64_t word) { return word & kMaxUsed; }

  std::atomic<std::uint64_t> word_{0};
};

}  // namespace tollgate
