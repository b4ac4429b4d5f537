#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "metering/usage_slot.h"

namespace tollgate {

// Usage slots in memory-mapped files under the data directory
// (`counters/segment-N`, 65,536 slots of 64 bytes each). The mapping is
// shared with the file, so what the gate counted survives a crash of the
// process (the kernel keeps the dirty pages) and is read back on restart.
// Segments are added, never moved, so slot references stay valid.
// slot() and sync() may be called from any thread; counting is lock-free.
class CounterFile {
 public:
  static constexpr std::uint32_t kSlotsPerSegment = 65536;

  explicit CounterFile(const std::filesystem::path& dir);
  ~CounterFile();
  CounterFile(const CounterFile&) = delete;
  CounterFile& operator=(const CounterFile&) = delete;

  // The slot at `index`, mapping new segments as needed. Control plane.
  UsageSlot& slot(std::uint32_t index);
  // The index of a slot slot() returned.
  std::uint32_t index_of(const UsageSlot& slot);
  // Schedules the dirty pages for writing (bounds what a power cut loses).
  void sync();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Segment {
    void* base = nullptr;
    std::size_t size = 0;
  };
  void map_segment(std::size_t n);

  std::filesystem::path dir_;
  std::mutex mutex_;
  std::vector<Segment> segments_;
};

// Ties the counter file in `dir` to the store numbered `owner` (see
// Store::identity), before a CounterFile opens it. A file that counted for
// another store has its segments moved to `dir`/store-<that number> (or
// store-<that number>-2, ... if taken), and that directory is returned;
// otherwise none. A file from before owners were recorded is taken as this
// store's.
std::optional<std::filesystem::path> claim_counters(const std::filesystem::path& dir,
                                                    std::int64_t owner);

}  // namespace tollgate
