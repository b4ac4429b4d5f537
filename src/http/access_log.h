#pragma once

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace tollgate {

// Writes access-log lines (one JSON object per request) to a file or stdout
// from its own thread. Workers hand over whole batches (AccessLogBuffer), so
// the request path takes no lock and makes no system call per request.
class AccessLog {
 public:
  // `target`: a file path (appended to, created owner-only) or "-" for stdout.
  explicit AccessLog(const std::string& target);
  ~AccessLog();  // writes what is pending
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void submit(std::string batch);
  // Opens the file again by its name before the next write (after it was
  // rotated); the lines already handed over go to the new file.
  void reopen();

 private:
  void run();
  void open_target();

  std::string target_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  bool reopen_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

// One worker's lines, handed to the AccessLog when large or when flushed.
// Not thread-safe: one per worker.
class AccessLogBuffer {
 public:
  static constexpr std::size_t kBatchBytes = 64 * 1024;

  explicit AccessLogBuffer(AccessLog* log) : log_(log) {}
  bool enabled() const { return log_ != nullptr; }
  std::string& line() { return buffer_; }  // append one line, ending in '\n'
  void line_done() {
    if (buffer_.size() >= kBatchBytes) flush();
  }
  void flush();

 private:
  AccessLog* log_;
  std::string buffer_;
};

}  // namespace tollgate
