#include "metering/counter_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace tollgate {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

CounterFile::CounterFile(const std::filesystem::path& dir) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  for (std::size_t n = 0; std::filesystem::exists(dir_ / ("segment-" + std::to_string(n))); ++n)
    map_segment(n);
}

CounterFile::~CounterFile() {
  for (const auto& s : segments_) {
    ::msync(s.base, s.size, MS_ASYNC);
    ::munmap(s.base, s.size);
  }
}

void CounterFile::map_segment(std::size_t n) {
  const std::filesystem::path file = dir_ / ("segment-" + std::to_string(n));
  const std::size_t size = std::size_t{kSlotsPerSegment} * sizeof(UsageSlot);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot open " + file.string());
  // A new or short file is extended with zeros (an empty slot), its blocks
  // taken now: a page first counted into on a full disk would otherwise
  // kill the process.
  if (const int error = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); error != 0) {
    ::close(fd);
    errno = error;
    fail("cannot set aside room for " + file.string());
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) fail("cannot map " + file.string());
  segments_.push_back({base, size});
}

UsageSlot& CounterFile::slot(std::uint32_t index) {
  std::lock_guard lock(mutex_);
  const std::size_t segment = index / kSlotsPerSegment;
  while (segments_.size() <= segment) map_segment(segments_.size());
  return static_cast<UsageSlot*>(segments_[segment].base)[index % kSlotsPerSegment];
}

std::uint32_t CounterFile::index_of(const UsageSlot& slot) {
  std::lock_guard lock(mutex_);
  for (std::size_t n = 0; n < segments_.size(); ++n) {
    const auto* base = static_cast<const UsageSlot*>(segments_[n].base);
    if (&slot >= base && &slot < base + kSlotsPerSegment)
      return static_cast<std::uint32_t>(n * kSlotsPerSegment +
                                        static_cast<std::size_t>(&slot - base));
  }
  throw std::logic_error("CounterFile::index_of: not a slot of this file");
}

std::optional<std::filesystem::path> claim_counters(const std::filesystem::path& dir,
                                                    std::int64_t owner) {
  namespace fs = std::filesystem;
  const fs::path owner_file = dir / "owner";
  std::int64_t recorded = 0;
  const bool known = static_cast<bool>(std::ifstream(owner_file) >> recorded);
  if (known && recorded == owner) return std::nullopt;
  std::optional<fs::path> moved;
  if (known) {
    // Never over counts moved aside before (the same two stores swapped twice).
    const std::string name = "store-" + std::to_string(recorded);
    moved = dir / name;
    for (int n = 2; fs::exists(*moved); ++n) moved = dir / (name + "-" + std::to_string(n));
    fs::create_directories(*moved);
    for (std::size_t n = 0; fs::exists(dir / ("segment-" + std::to_string(n))); ++n)
      fs::rename(dir / ("segment-" + std::to_string(n)), *moved / ("segment-" + std::to_string(n)));
    if (fs::exists(dir / "held")) fs::rename(dir / "held", *moved / "held");
  }
  fs::create_directories(dir);
  const fs::path written = dir / "owner.new";
  {
    std::ofstream out(written, std::ios::trunc);
    out << owner << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write " + written.string());
  }
  fs::rename(written, owner_file);
  return moved;
}

void CounterFile::sync() {
  std::lock_guard lock(mutex_);
  for (const auto& s : segments_) ::msync(s.base, s.size, MS_ASYNC);
}

}  // namespace tollgate
