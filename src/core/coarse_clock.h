#pragma once

#include <time.h>

#include <chrono>

namespace tollgate {

// The monotonic clock as the kernel last ticked it (every few milliseconds).
// Reading it costs about a sixth of steady_clock's clock_gettime, which is
// what a deadline swept every 50 ms needs: a worker arms three per request.
struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace tollgate
