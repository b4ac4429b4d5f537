#include "http/send_batch.h"

#include <fmt/format.h>
#include <liburing.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace tollgate {
namespace {

// More sends than this in one turn go in more than one system call.
constexpr unsigned kDepth = 128;
// SUBMIT_ALL: an entry that fails does not hold back those after it.
// COOP_TASKRUN and SINGLE_ISSUER spare the kernel work for a ring one
// thread drives. A kernel without them gets a plain ring.
constexpr unsigned kSetupFlags =
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;

}  // namespace

SendBatch::Slot::~Slot() {
  if (batch_) batch_->forget(*this);
}

SendBatch::SendBatch() { queued_.reserve(kDepth); }

SendBatch::~SendBatch() {
  for (Slot* slot : queued_) slot->batch_ = nullptr;
  if (ring_) io_uring_queue_exit(ring_.get());
}

// The ring is made on the worker's thread, the one that will submit to it.
bool SendBatch::ready() {
  if (ring_) return true;
  if (unavailable_) return false;
  auto ring = std::make_unique<io_uring>();
  if (io_uring_queue_init(kDepth, ring.get(), kSetupFlags) < 0 &&
      io_uring_queue_init(kDepth, ring.get(), 0) < 0) {
    unavailable_ = true;
    return false;
  }
  ring_ = std::move(ring);
  return true;
}

bool SendBatch::queue(Slot& slot, Socket& socket, const Buffers& buffers) {
  if (!ready()) return false;
  if (queued_.size() == kDepth) flush();
  if (!ring_) return false;
  std::size_t parts = 0;
  slot.size_ = 0;
  for (const asio::const_buffer& b : buffers) {
    if (b.size() != 0) slot.parts_[parts++] = {const_cast<void*>(b.data()), b.size()};
    slot.size_ += b.size();
  }
  slot.message_ = {};
  slot.message_.msg_iov = slot.parts_.data();
  slot.message_.msg_iovlen = parts;
  slot.socket_ = &socket;
  slot.result_ = 0;
  slot.done_ = false;
  slot.batch_ = this;
  queued_.push_back(&slot);
  return true;
}

boost::system::error_code SendBatch::settle(Slot& slot, Unsent& unsent) {
  if (!slot.done_) flush();
  if (slot.result_ >= 0) {
    unsent.consume(static_cast<std::size_t>(slot.result_));
    return {};
  }
  if (slot.result_ == -EAGAIN) return {};
  return {-slot.result_, boost::system::system_category()};
}

void SendBatch::forget(const Slot& slot) {
  queued_.erase(std::find(queued_.begin(), queued_.end(), &slot));
}

void SendBatch::flush() {
  if (queued_.empty()) return;
  const auto finish = [](Slot& slot, int result) {
    slot.result_ = result;
    slot.done_ = true;
    slot.batch_ = nullptr;
  };
  int prepared = 0;
  for (Slot* slot : queued_) {
    // Closed while it waited (its deadline passed): the descriptor may
    // already be another connection's.
    if (!slot->socket_->is_open()) {
      finish(*slot, -EBADF);
      continue;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    // MSG_DONTWAIT: a send that cannot go at once fails with EAGAIN instead
    // of waiting in the kernel; its owner writes it through Asio.
    io_uring_prep_sendmsg(sqe, slot->socket_->native_handle(), &slot->message_,
                          MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, slot);
    ++prepared;
  }
  int submitted = 0;
  if (prepared != 0) {
    do submitted = io_uring_submit_and_wait(ring_.get(), static_cast<unsigned>(prepared));
    while (submitted == -EINTR);
  }
  bool failed = submitted != prepared;
  std::uint64_t unfinished = 0;
  for (int completed = 0; completed < submitted;) {
    io_uring_cqe* cqe = nullptr;
    const int error = io_uring_wait_cqe(ring_.get(), &cqe);
    if (error == -EINTR) continue;
    if (error < 0) {
      failed = true;
      break;
    }
    Slot& slot = *static_cast<Slot*>(io_uring_cqe_get_data(cqe));
    finish(slot, cqe->res);
    if (cqe->res == -EAGAIN || (cqe->res >= 0 && static_cast<std::size_t>(cqe->res) < slot.size_))
      ++unfinished;
    io_uring_cqe_seen(ring_.get(), cqe);
    ++completed;
  }
  if (submitted > 0) {
    const auto relaxed = std::memory_order_relaxed;
    batches_.store(batches_.load(relaxed) + 1, relaxed);
    sends_.store(sends_.load(relaxed) + static_cast<std::uint64_t>(submitted), relaxed);
    unfinished_.store(unfinished_.load(relaxed) + unfinished, relaxed);
  }
  if (failed) {
    // What the ring still holds must never be sent: the owners send it.
    spdlog::warn(
        "io_uring sends failed ({} of {} submitted); writing one send at a time from now on",
        submitted, prepared);
    io_uring_queue_exit(ring_.get());
    ring_.reset();
    unavailable_ = true;
  }
  for (Slot* slot : queued_) {
    if (!slot->done_) finish(*slot, -EAGAIN);
  }
  queued_.clear();
}

void SendBatch::Counts::add(const Counts& other) {
  batches += other.batches;
  sends += other.sends;
  unfinished += other.unfinished;
}

SendBatch::Counts SendBatch::counts() const {
  const auto relaxed = std::memory_order_relaxed;
  return {batches_.load(relaxed), sends_.load(relaxed), unfinished_.load(relaxed)};
}

void SendBatch::render(const Counts& total, std::string& out) {
  const auto line = [&out](const char* name, const char* help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  line("tollgate_send_batches_total",
       "System calls (io_uring_enter) that made a worker's sends of one turn together.",
       total.batches);
  line("tollgate_batched_sends_total",
       "Answers to clients and requests to backends sent in those batches.", total.sends);
  line("tollgate_batched_sends_unfinished_total",
       "Batched sends that could not go whole at once (a full socket); their rest was written on "
       "its own.",
       total.unfinished);
}

}  // namespace tollgate
