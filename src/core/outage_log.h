#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace tollgate {

// Logs a failure that repeats every interval (a store that is down): once
// when it begins or its reason changes, then at most once a minute with how
// often it failed, and once when it ends. A store down for an hour does not fill the disk.
// Used by one thread.
class OutageLog {
 public:
  // `what` names the attempt: "usage flush", "catalog reload".
  explicit OutageLog(std::string what) : what_(std::move(what)) {}

  void failed(const std::exception& e) {
    const auto now = std::chrono::steady_clock::now();
    ++failures_;
    if (failures_ == 1 || now - last_logged_ >= kRepeat || last_reason_ != e.what()) {
      spdlog::error("{} failed ({} time(s) in a row), will retry: {}", what_, failures_, e.what());
      last_logged_ = now;
      last_reason_ = e.what();
    }
  }

  void succeeded() {
    if (failures_ != 0) spdlog::info("{} works again after {} failure(s)", what_, failures_);
    failures_ = 0;
  }

 private:
  static constexpr std::chrono::seconds kRepeat{60};
  std::string what_;
  std::uint64_t failures_ = 0;
  std::string last_reason_;
  std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace tollgate
