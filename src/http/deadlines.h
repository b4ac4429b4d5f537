#pragma once

#include <chrono>

#include "http/executor.h"

namespace tollgate {

// Closes sockets whose deadline has passed. One per worker thread: arming a
// deadline is a store into the socket's entry, not a timer-queue operation
// per read and write, and one periodic sweep checks every entry.
class Deadlines {
 public:
  using Clock = std::chrono::steady_clock;

  // Links a socket for as long as it lives; neither copied nor moved.
  class Entry {
   public:
    Entry(Deadlines& deadlines, Socket& socket);
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    void expires_at(Clock::time_point t) {
      at_ = t;
      expired_ = false;
    }
    void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
    void expires_never() { expires_at(Clock::time_point::max()); }
    // The socket was closed because the deadline passed.
    bool expired() const { return expired_; }

   private:
    friend class Deadlines;
    Deadlines& deadlines_;
    Socket& socket_;
    Clock::time_point at_ = Clock::time_point::max();
    bool expired_ = false;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
  };

  explicit Deadlines(std::chrono::milliseconds tick = std::chrono::milliseconds(50)) : tick_(tick) {}
  // Sweeps every tick until the worker's io_context stops.
  Task<void> run();
  // Closes the sockets past their deadline at `now`.
  void sweep(Clock::time_point now);
  std::size_t size() const { return size_; }

 private:
  std::chrono::milliseconds tick_;
  Entry* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tollgate
