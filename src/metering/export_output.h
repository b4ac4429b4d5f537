#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace tollgate {

// Where an export writes, all or nothing: a file is written beside itself
// under a temporary name, flushed to the disk and checked, and only then
// renamed over the target; standard output, or a path that is not a regular
// file (a pipe, a device), has every write checked. An export prints its
// cursor only after commit() returned, so a cursor never passes a record
// its reader did not get. Not thread-safe.
class ExportOutput {
 public:
  // `path` empty or "-": standard output.
  explicit ExportOutput(const std::string& path);
  ~ExportOutput();  // removes the temporary file unless committed
  ExportOutput(const ExportOutput&) = delete;
  ExportOutput& operator=(const ExportOutput&) = delete;

  std::ostream& stream() { return stream_; }
  // Makes what was written final. Throws std::runtime_error naming what
  // failed (a full disk, a closed pipe, a rename); nothing is final then.
  void commit();

 private:
  // Writes through to a file descriptor, keeping the first error.
  class FdBuffer final : public std::streambuf {
   public:
    explicit FdBuffer(int fd);
    bool drain();  // writes what is buffered; false once any write failed
    int error() const { return error_; }

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override { return drain() ? 0 : -1; }

   private:
    bool write_all(const char* data, std::size_t size);
    int fd_;
    int error_ = 0;
    char buffer_[1 << 16];
  };

  [[noreturn]] void fail(const std::string& what, int error);

  std::string name_;                 // for messages
  std::filesystem::path target_;     // empty: written in place (stdout, a pipe, a device)
  std::filesystem::path temporary_;  // beside the target
  int fd_ = -1;
  std::unique_ptr<FdBuffer> buffer_;
  std::ostream stream_;
  bool committed_ = false;
};

}  // namespace tollgate
