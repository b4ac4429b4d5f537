#pragma once

#include <chrono>
#include <cstdint>

#include "core/coarse_clock.h"
#include "http/executor.h"

namespace tollgate {

// Closes sockets whose deadline has passed. One per worker thread: arming a
// deadline is a store into the socket's entry, not a timer-queue operation
// per read and write, and one periodic sweep checks every entry.
class Deadlines {
 public:
  // Coarse: a deadline is only checked every tick anyway.
  using Clock = CoarseClock;

  // What the sweep does to a socket past its deadline: close it, or only
  // cancel its pending operations, so that its owner can still answer
  // (408 to a client too slow to send its request).
  enum class OnExpiry : std::uint8_t { kClose, kCancel };

  // Links a socket for as long as it lives; neither copied nor moved.
  class Entry {
   public:
    Entry(Deadlines& deadlines, Socket& socket);
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    void expires_at(Clock::time_point t, OnExpiry action = OnExpiry::kClose) {
      at_ = t;
      action_ = action;
      expired_ = false;
    }
    void expires_after(Clock::duration d, OnExpiry action = OnExpiry::kClose) {
      expires_at(Clock::now() + d, action);
    }
    void expires_never() { expires_at(Clock::time_point::max()); }
    // The socket was closed or cancelled because the deadline passed.
    bool expired() const { return expired_; }
    // Idle: a kept-alive connection waiting for its next request, which
    // close_idle() may close.
    void set_idle(bool idle) { idle_ = idle; }

   private:
    friend class Deadlines;
    Deadlines& deadlines_;
    Socket& socket_;
    Clock::time_point at_ = Clock::time_point::max();
    OnExpiry action_ = OnExpiry::kClose;
    bool expired_ = false;
    bool idle_ = false;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
  };

  explicit Deadlines(std::chrono::milliseconds tick = std::chrono::milliseconds(50))
      : tick_(tick) {}
  // Sweeps every tick until the worker's io_context stops.
  Task<void> run();
  // Acts on the sockets past their deadline at `now`.
  void sweep(Clock::time_point now);
  // Closes every idle socket (a graceful shutdown).
  void close_idle();
  std::size_t size() const { return size_; }

 private:
  std::chrono::milliseconds tick_;
  Entry* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tollgate
