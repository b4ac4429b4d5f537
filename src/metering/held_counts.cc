#include "metering/held_counts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

namespace tollgate {
namespace {

// The file: a header (the magic, then how many records follow), then the
// records, then room set aside for more.
constexpr char kMagic[8] = {'t', 'g', 'h', 'e', 'l', 'd', '0', '1'};
constexpr off_t kHeaderBytes = 16;
constexpr std::uint64_t kRoomAhead = 4096;  // records set aside at least, beyond those held

struct OnDisk {
  std::uint32_t slot;
  std::uint32_t parity;
  std::int64_t day;
  std::int64_t mark;
  std::int64_t delta;
};
static_assert(sizeof(OnDisk) == 32);

off_t offset_of(std::uint64_t record) {
  return kHeaderBytes + static_cast<off_t>(record * sizeof(OnDisk));
}

[[noreturn]] void fail(const std::string& what, int error) {
  throw std::runtime_error(what + ": " + std::strerror(error));
}

void write_at(int fd, const void* data, std::size_t size, off_t offset, const std::string& file) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + file, errno);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
}

// The records a held file's header vouches for, or none if it has no
// valid header (a new file, or one whose header was never written whole).
std::optional<std::vector<OnDisk>> read_records(int fd, std::uint64_t& capacity) {
  struct stat st {};
  char header[kHeaderBytes] = {};
  if (::fstat(fd, &st) != 0 || st.st_size < kHeaderBytes ||
      ::pread(fd, header, sizeof header, 0) != kHeaderBytes ||
      std::memcmp(header, kMagic, sizeof kMagic) != 0)
    return std::nullopt;
  std::uint64_t count = 0;
  std::memcpy(&count, header + 8, sizeof count);
  capacity = static_cast<std::uint64_t>(st.st_size - kHeaderBytes) / sizeof(OnDisk);
  std::vector<OnDisk> records(std::min(count, capacity));
  const auto bytes = static_cast<ssize_t>(records.size() * sizeof(OnDisk));
  if (bytes > 0 &&
      ::pread(fd, records.data(), static_cast<std::size_t>(bytes), kHeaderBytes) != bytes)
    throw std::runtime_error(std::string("cannot read held counts: ") + std::strerror(errno));
  return records;
}

}  // namespace

HeldCounts::HeldCounts(const std::filesystem::path& file) : file_(file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot open " + file.string(), errno);
  try {
    if (const auto on_disk = read_records(fd_, capacity_)) {
      for (const OnDisk& r : *on_disk)
        records_.push_back({r.slot, static_cast<int>(r.parity), r.day, r.mark, r.delta});
      return;
    }
    // New (or never completed): an empty file with room set aside.
    write_at(fd_, kMagic, sizeof kMagic, 0, file_.string());
    write_count(0);
    if (const int error = ::posix_fallocate(fd_, 0, offset_of(kRoomAhead)); error != 0)
      fail("cannot set aside room in " + file.string(), error);
    capacity_ = kRoomAhead;
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

std::optional<std::int64_t> HeldCounts::earliest_day(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::int64_t> earliest;
  std::uint64_t capacity = 0;
  try {
    if (const auto on_disk = read_records(fd, capacity))
      for (const OnDisk& r : *on_disk) earliest = std::min(earliest.value_or(r.day), r.day);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return earliest;
}

HeldCounts::~HeldCounts() {
  if (fd_ >= 0) ::close(fd_);
}

void HeldCounts::write_count(std::uint64_t count) {
  write_at(fd_, &count, sizeof count, 8, file_.string());
}

void HeldCounts::append(const std::vector<Record>& records) {
  if (records.empty()) return;
  const std::uint64_t count = records_.size() + records.size();
  if (count > capacity_) {
    const std::uint64_t wanted = std::max(count + kRoomAhead, 2 * capacity_);
    const int error = ::posix_fallocate(fd_, 0, offset_of(wanted));
    if (error != 0) fail("cannot set aside room in " + file_.string(), error);
    capacity_ = wanted;
  }
  std::vector<OnDisk> on_disk;
  on_disk.reserve(records.size());
  for (const Record& r : records)
    on_disk.push_back({r.slot, static_cast<std::uint32_t>(r.parity), r.day, r.mark, r.delta});
  // The records first, then the count that makes them part of the file: a
  // crash in between leaves them out, and the slots' words still hold them.
  write_at(fd_, on_disk.data(), on_disk.size() * sizeof(OnDisk), offset_of(records_.size()),
           file_.string());
  if (::fdatasync(fd_) != 0) fail("cannot write " + file_.string() + " to its disk", errno);
  write_count(count);
  if (::fdatasync(fd_) != 0) fail("cannot write " + file_.string() + " to its disk", errno);
  records_.insert(records_.end(), records.begin(), records.end());
}

void HeldCounts::clear() {
  if (records_.empty()) return;
  write_count(0);
  if (::fdatasync(fd_) != 0) fail("cannot write " + file_.string() + " to its disk", errno);
  records_.clear();
}

}  // namespace tollgate
