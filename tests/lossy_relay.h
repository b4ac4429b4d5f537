#pragma once

// A loopback TCP relay in front of a server that can be told to lose an
// answer: what a client sends next reaches the server whole, and once the
// server has answered, the answer is dropped and the connection cut. So a
// test can make a server apply a command whose caller never hears of it.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "loopback.h"

namespace tollgate {

class LossyRelay {
 public:
  explicit LossyRelay(int server_port) : server_port_(server_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listener_, 16), 0);
    socklen_t size = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &size);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~LossyRelay() {
    stop_ = true;
    thread_.join();
    for (const Pair& p : pairs_) close_pair(p);
    close(listener_);
  }
  LossyRelay(const LossyRelay&) = delete;
  LossyRelay& operator=(const LossyRelay&) = delete;

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void lose_next_answer() { armed_ = true; }
  int answers_lost() const { return lost_; }

 private:
  struct Pair {
    int client;
    int server;
    bool losing = false;  // the server's next answer is dropped
  };

  static bool write_all(int fd, const char* data, ssize_t size) {
    while (size > 0) {
      const ssize_t n = write(fd, data, static_cast<size_t>(size));
      if (n <= 0) return false;
      data += n;
      size -= n;
    }
    return true;
  }

  static void close_pair(const Pair& p) {
    close(p.client);
    close(p.server);
  }

  // Reads the rest of an answer until the server has been quiet a while.
  static void drain(int fd) {
    char buffer[65536];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 100) > 0 && read(fd, buffer, sizeof buffer) > 0) {
    }
  }

  void accept_one() {
    const int client = accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    const int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(server_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(client);
      close(server);
      return;
    }
    pairs_.push_back({client, server});
  }

  // Moves what is readable on one side of pair `i`; false when the pair is done.
  bool relay(Pair& p, bool from_client) {
    char buffer[65536];
    const ssize_t n = read(from_client ? p.client : p.server, buffer, sizeof buffer);
    if (n <= 0) return false;
    if (from_client) {
      if (armed_.exchange(false)) p.losing = true;
      return write_all(p.server, buffer, n);
    }
    if (p.losing) {
      drain(p.server);
      ++lost_;
      return false;
    }
    return write_all(p.client, buffer, n);
  }

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (const Pair& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      std::vector<Pair> kept;
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        Pair& p = pairs_[i];
        const bool client_ready = fds[1 + 2 * i].revents != 0;
        const bool server_ready = fds[2 + 2 * i].revents != 0;
        if ((client_ready && !relay(p, true)) || (server_ready && !relay(p, false))) {
          close_pair(p);
        } else {
          kept.push_back(p);
        }
      }
      pairs_.swap(kept);
      if (fds[0].revents != 0) accept_one();
    }
  }

  int server_port_;
  int listener_ = -1;
  int port_ = 0;
  std::vector<Pair> pairs_;  // the relay thread's own
  std::atomic<bool> stop_{false};
  std::atomic<bool> armed_{false};
  std::atomic<int> lost_{0};
  std::thread thread_;
};

}  // namespace tollgate
