#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tollgate {

// Asks the kernel to back the whole 2 MiB pages inside [p, p + n) with huge
// pages, where transparent huge pages are on "madvise". Tables of a million
// keys are read at random: with 4 KiB pages nearly every lookup also misses
// the TLB. Only advice: failure changes nothing but speed.
inline void advise_huge_pages(void* p, std::size_t n) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Makes `v` hold `n` copies of `value` in memory advised for huge pages. The
// advice comes before the first write: a page already faulted in stays small.
template <typename T>
void assign_on_huge_pages(std::vector<T>& v, std::size_t n, const T& value) {
  v.clear();
  v.reserve(n);
  advise_huge_pages(v.data(), n * sizeof(T));
  v.assign(n, value);
}

}  // namespace tollgate
