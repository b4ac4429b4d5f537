#include "http/deadlines.h"

namespace tollgate {

Deadlines::Entry::Entry(Deadlines& deadlines, Socket& socket)
    : deadlines_(deadlines), socket_(socket) {
  next_ = deadlines_.head_;
  if (next_) next_->prev_ = this;
  deadlines_.head_ = this;
  ++deadlines_.size_;
}

Deadlines::Entry::~Entry() {
  if (prev_)
    prev_->next_ = next_;
  else
    deadlines_.head_ = next_;
  if (next_) next_->prev_ = prev_;
  --deadlines_.size_;
}

namespace {

void close_socket(Socket& socket) {
  beast::error_code ec;
  // Shut down first: close() alone does not wake a peer that keeps the
  // connection open, and a pending read fails with operation_aborted.
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

void Deadlines::sweep(Clock::time_point now) {
  for (Entry* e = head_; e; e = e->next_) {
    if (e->at_ > now) continue;
    if (e->action_ == OnExpiry::kCancel) {
      beast::error_code ec;
      e->socket_.cancel(ec);
    } else {
      close_socket(e->socket_);
    }
    e->at_ = Clock::time_point::max();
    e->expired_ = true;
  }
}

void Deadlines::close_idle() {
  for (Entry* e = head_; e; e = e->next_)
    if (e->idle_) close_socket(e->socket_);
}

Task<void> Deadlines::run() {
  using SteadyTimer =
      asio::basic_waitable_timer<std::chrono::steady_clock,
                                 asio::wait_traits<std::chrono::steady_clock>, Executor>;
  SteadyTimer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(tick_);
    auto [ec] = co_await timer.async_wait(as_result);
    if (ec) co_return;
    sweep(Clock::now());
  }
}

}  // namespace tollgate
