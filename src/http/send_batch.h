#pragma once

// A worker's sends of one turn of its event loop, made together in one
// io_uring_enter. Each write() that wakes a client's thread lets that
// thread preempt the worker on its return to user space when the two share
// a core; sends made together in one system call all land before the client
// runs, so it is woken once and finds every answer waiting.
//
// A send is queued with its socket and buffers; its owner then yields to the
// worker's other ready work (a post), and the first owner to resume sends
// the whole batch. A send is never left to the kernel to finish: one that
// could not go at once, or went only in part, is reported as such, and its
// owner writes the rest as it would have without the batch. Without
// io_uring (an old kernel, or io_uring turned off) nothing is queued.
//
// One per worker thread; not thread-safe.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/executor.h"

struct io_uring;

namespace tollgate {

class SendBatch {
 public:
  // What one send is made of (a head and a body), and what is left of it.
  using Buffers = std::array<asio::const_buffer, 2>;
  using Unsent = beast::buffers_suffix<Buffers>;

  // One queued send and, once the batch went, what came of it. Lives where
  // its owner waits (a coroutine frame) until it is done or destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class SendBatch;
    SendBatch* batch_ = nullptr;
    Socket* socket_ = nullptr;
    std::array<iovec, 2> parts_{};
    msghdr message_{};
    std::size_t size_ = 0;
    int result_ = 0;  // bytes sent, or -errno (-EAGAIN: nothing could go at once)
    bool done_ = false;
  };

  SendBatch();
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // Queues `buffers` to be sent on `socket` with the batch; false when
  // batches cannot be made here, and nothing was queued.
  bool queue(Slot& slot, Socket& socket, const Buffers& buffers);
  // After its owner yielded: sends the batch unless it went already, takes
  // what the slot's send sent off `unsent`, and returns the error it met, if
  // any. What is left of `unsent` is the owner's to write.
  boost::system::error_code settle(Slot& slot, Unsent& unsent);
  // Sends every queued slot, if any is queued.
  void flush();

  // What the batches did, for /metrics.
  struct Counts {
    std::uint64_t batches = 0;     // system calls that sent a batch
    std::uint64_t sends = 0;       // sends made in them
    std::uint64_t unfinished = 0;  // of those, sends their owners had to finish
    void add(const Counts& other);
  };
  // Readable from any thread.
  Counts counts() const;
  // Appends the tollgate_send_* lines for `total`, the counts of every worker.
  static void render(const Counts& total, std::string& out);

 private:
  bool ready();
  void forget(const Slot& slot);

  std::unique_ptr<io_uring> ring_;
  bool unavailable_ = false;
  std::vector<Slot*> queued_;
  // Written by the worker's thread only.
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> sends_{0};
  std::atomic<std::uint64_t> unfinished_{0};
};

}  // namespace tollgate
