#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace tollgate {

// Counts the meter took out of the usage slots' day words while the store
// could not be written, kept in one file beside the counter file
// (`counters/held`) until a flush writes them. A slot's word for a day is
// counted into again two days later, and the store may be down for longer:
// a day that has ended is held here rather than lost. Written through the
// page cache and then forced to the disk, so a crash of the process loses
// nothing and a power cut at most what the counter file would; space is
// set aside ahead, so a disk that fills up is seen when room is asked for
// (append throws), not as a crash. Not thread-safe: the meter's lock
// guards it.
class HeldCounts {
 public:
  // One day's count of one slot's word, as it was when held.
  struct Record {
    std::uint32_t slot = 0;
    int parity = 0;
    std::int64_t day = 0;
    std::int64_t mark = 0;   // the word's count when held: the meter's watermark from then on
    std::int64_t delta = 0;  // what the store lacked of it
  };

  // Opens, creating if needed, and reads what it holds.
  explicit HeldCounts(const std::filesystem::path& file);
  ~HeldCounts();
  HeldCounts(const HeldCounts&) = delete;
  HeldCounts& operator=(const HeldCounts&) = delete;

  // The earliest day `file` holds counts of, if it holds any; read without
  // creating or changing it (an export beside a running node).
  static std::optional<std::int64_t> earliest_day(const std::filesystem::path& file);

  // What is held, oldest first.
  const std::vector<Record>& records() const { return records_; }
  // Holds more; all or none. Throws std::runtime_error (a full disk).
  void append(const std::vector<Record>& records);
  // Drops everything held, once a flush has written it.
  void clear();

 private:
  void write_count(std::uint64_t count);

  std::filesystem::path file_;
  int fd_ = -1;
  std::uint64_t capacity_ = 0;  // records the file has room for
  std::vector<Record> records_;
};

}  // namespace tollgate
