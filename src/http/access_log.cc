#include "http/access_log.h"
#include "core/thread_name.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace tollgate {

AccessLog::AccessLog(const std::string& target) : target_(target) {
  if (target == "-") {
    file_ = stdout;
  } else {
    open_target();
    owns_file_ = true;
  }
  thread_ = std::thread([this] {
    name_this_thread("access-log");
    run();
  });
}

void AccessLog::open_target() {
  const int fd = ::open(target_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::FILE* file = fd < 0 ? nullptr : ::fdopen(fd, "a");
  if (!file) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot open access log " + target_ + ": " + std::strerror(errno));
  }
  file_ = file;
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = owns_file_;
  }
  wake_.notify_all();
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (owns_file_) std::fclose(file_);
}

void AccessLog::submit(std::string batch) {
  if (batch.empty()) return;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(batch));
  }
  wake_.notify_one();
}

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || reopen_ || !pending_.empty(); });
    std::deque<std::string> batches;
    batches.swap(pending_);
    const bool last = stopping_;
    const bool reopen = std::exchange(reopen_, false);
    lock.unlock();
    if (reopen) {
      std::FILE* old = file_;
      try {
        open_target();
        std::fclose(old);
      } catch (const std::exception& e) {
        spdlog::error("{}; still writing to the file open before", e.what());
      }
    }
    for (const auto& b : batches) std::fwrite(b.data(), 1, b.size(), file_);
    std::fflush(file_);
    lock.lock();
    if (last && pending_.empty()) return;
  }
}

void AccessLogBuffer::flush() {
  if (!log_ || buffer_.empty()) return;
  std::string batch;
  batch.reserve(kBatchBytes + 1024);
  batch.swap(buffer_);
  log_->submit(std::move(batch));
}

}  // namespace tollgate
