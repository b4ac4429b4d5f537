// The floor under every proxy in bench/side_by_side.py: what a proxy costs on
// this host when it does nothing but move bytes. Each client connection gets
// a backend connection of its own, and whatever one side sends goes to the
// other unchanged: no parsing, no keys, no limits, no pool.
//
// Two ways of doing its I/O, both on edge-triggered epoll:
//   batched (the default): tollgate's. Reads until EAGAIN, and the sends of
//     one turn of the loop made together in one io_uring_enter (one send()
//     each without io_uring).
//   plain: HAProxy's. One read per readiness event, and one send() per
//     read. When the event says the peer has shut down it reads on to the
//     end of the stream, which a read may have taken together with the last
//     data and which no later event would announce. No read fails with
//     EAGAIN.
//
// A measuring instrument, not a proxy for any use. It stops (exit 1) on a
// send the kernel could not take whole at once, which the benchmark's small
// messages never cause.
//
//   floor_proxy PORT BACKEND_PORT WORKERS [batched|plain]

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, int error = errno) {
  std::fprintf(stderr, "floor_proxy: %s: %s\n", what, std::strerror(error));
  std::exit(1);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void set_no_delay(int fd) {
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) fail("TCP_NODELAY");
}

// One listening socket per worker, as tollgate's workers have: the kernel
// spreads the connections over them.
int listen_on(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) fail("socket");
  sockaddr_in address = loopback(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
  if (listen(fd, 4096) != 0) fail("listen");
  return fd;
}

int dial(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(port);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    fail("connect to the backend");
  }
  set_no_delay(fd);
  if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) fail("O_NONBLOCK");
  return fd;
}

class Worker {
 public:
  Worker(std::uint16_t port, std::uint16_t backend_port, bool plain)
      : backend_port_(backend_port),
        plain_(plain),
        listener_(listen_on(port)),
        epoll_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) fail("epoll_create1");
    watch(listener_, EPOLLIN);
    has_ring_ = !plain_ && io_uring_queue_init(kRingEntries, &ring_, 0) == 0;
  }

  [[noreturn]] void run() {
    std::array<epoll_event, 256> events;
    for (;;) {
      int ready = epoll_wait(epoll_, events.data(), events.size(), -1);
      if (ready < 0 && errno != EINTR) fail("epoll_wait");
      for (int i = 0; i < ready; ++i) {
        int fd = events[i].data.fd;
        if (fd == listener_) {
          accept_all();
        } else {
          forward_from(fd, events[i].events);
        }
      }
      send_queued();
    }
  }

 private:
  static constexpr unsigned kRingEntries = 4096;
  // Room for one turn's reads; a read never gets less than kMinRead of it.
  static constexpr std::size_t kBufferBytes = 1 << 20;
  static constexpr std::size_t kMinRead = 64 * 1024;

  void watch(int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl");
  }

  void accept_all() {
    for (;;) {
      int client = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        fail("accept4");
      }
      set_no_delay(client);
      int backend = dial(backend_port_);
      pair(client, backend);
      const std::uint32_t events = EPOLLIN | EPOLLET | (plain_ ? std::uint32_t{EPOLLRDHUP} : 0u);
      watch(client, events);
      watch(backend, events);
    }
  }

  void pair(int a, int b) {
    std::size_t needed = static_cast<std::size_t>(std::max(a, b)) + 1;
    if (peer_.size() < needed) peer_.resize(needed, -1);
    peer_[a] = b;
    peer_[b] = a;
  }

  // Edge-triggered: reads until the socket is drained, each read's bytes
  // queued for the peer (sent at once, plain) as they are, in the buffer
  // they were read into. A read that leaves room in its buffer has drained
  // the socket, so a plain one stops there.
  void forward_from(int fd, std::uint32_t events) {
    const bool once = plain_ && (events & EPOLLRDHUP) == 0;
    // An event of this turn for a pair closed earlier in it.
    if (static_cast<std::size_t>(fd) >= peer_.size() || peer_[fd] < 0) return;
    for (;;) {
      if (buffer_.size() - used_ < kMinRead) send_queued();
      ssize_t got = recv(fd, buffer_.data() + used_, buffer_.size() - used_, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) return;
      if (got <= 0) {
        close_pair(fd);
        return;
      }
      const bool drained = static_cast<std::size_t>(got) < buffer_.size() - used_;
      send(peer_[fd], buffer_.data() + used_, static_cast<std::size_t>(got));
      used_ += static_cast<std::size_t>(got);
      if (once && drained) return;
    }
  }

  void send(int fd, const char* data, std::size_t size) {
    if (!has_ring_) {
      ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      expect_sent(sent < 0 ? -errno : sent, size);
      return;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      send_queued();
      sqe = io_uring_get_sqe(&ring_);
    }
    io_uring_prep_send(sqe, fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, size);
    ++queued_;
  }

  void send_queued() {
    if (queued_ > 0) {
      int submitted = io_uring_submit_and_wait(&ring_, queued_);
      if (submitted < 0) fail("io_uring_submit_and_wait", -submitted);
      io_uring_cqe* cqe;
      unsigned head;
      unsigned seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        expect_sent(cqe->res, io_uring_cqe_get_data64(cqe));
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      queued_ = 0;
    }
    used_ = 0;
  }

  // `sent`: bytes, or -errno. A peer that has gone is seen by the read of
  // its own socket.
  static void expect_sent(ssize_t sent, std::size_t size) {
    if (sent == -EPIPE || sent == -ECONNRESET) return;
    if (sent < 0) fail("send", static_cast<int>(-sent));
    if (static_cast<std::size_t>(sent) != size) {
      std::fprintf(stderr, "floor_proxy: a send went in part (%zd of %zu bytes)\n", sent, size);
      std::exit(1);
    }
  }

  void close_pair(int fd) {
    // Queued sends name these descriptors, and a new connection could be
    // given their numbers.
    send_queued();
    int other = peer_[fd];
    peer_[fd] = peer_[other] = -1;
    close(fd);
    close(other);
  }

  std::uint16_t backend_port_;
  bool plain_;
  int listener_;
  int epoll_;
  io_uring ring_{};
  bool has_ring_ = false;
  unsigned queued_ = 0;
  std::vector<int> peer_;  // by descriptor; -1 for none
  std::vector<char> buffer_ = std::vector<char>(kBufferBytes);
  std::size_t used_ = 0;
};

bool parse(std::string_view text, long low, long high, long& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value >= low && value <= high;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  long backend_port = 0;
  long workers = 0;
  const std::string_view discipline = argc == 5 ? argv[4] : "batched";
  if ((argc != 4 && argc != 5) || !parse(argv[1], 1, 65535, port) ||
      !parse(argv[2], 1, 65535, backend_port) || !parse(argv[3], 1, 256, workers) ||
      (discipline != "batched" && discipline != "plain")) {
    std::fprintf(stderr,
                 "usage: floor_proxy PORT BACKEND_PORT WORKERS [batched|plain] (ports 1-65535, "
                 "workers 1-256)\n");
    return 2;
  }
  const bool plain = discipline == "plain";
  std::vector<std::thread> threads;
  for (long i = 0; i < workers; ++i) {
    threads.emplace_back([&] {
      Worker(static_cast<std::uint16_t>(port), static_cast<std::uint16_t>(backend_port), plain)
          .run();
    });
  }
  for (std::thread& thread : threads) thread.join();
}
