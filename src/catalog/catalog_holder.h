#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "catalog/catalog.h"

namespace tollgate {

// Where the current catalog is published. Publishing and fetching take a
// mutex, but workers fetch only when the generation moves (CatalogView).
class CatalogHolder {
 public:
  void publish(std::shared_ptr<const Catalog> catalog) {
    std::lock_guard lock(mutex_);
    current_ = std::move(catalog);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const Catalog> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Catalog> current_;
  std::atomic<std::uint64_t> generation_{0};
};

// One worker thread's handle on the current catalog. get() costs one atomic
// load unless a new catalog was published. The pointer it returns has a
// reference count private to this worker, so requests that hold their
// snapshot never touch a cache line shared with other workers.
// Not thread-safe: one per worker.
class CatalogView {
 public:
  explicit CatalogView(const CatalogHolder& holder) : holder_(holder) {}

  const std::shared_ptr<const Catalog>& get() {
    const std::uint64_t generation = holder_.generation();
    if (generation != generation_) {
      std::shared_ptr<const Catalog> shared = holder_.current();
      const Catalog* raw = shared.get();
      local_ = std::shared_ptr<const Catalog>(raw, [keep = std::move(shared)](const Catalog*) {});
      generation_ = generation;
    }
    return local_;
  }

 private:
  const CatalogHolder& holder_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const Catalog> local_;
};

}  // namespace tollgate
