#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "store/redis_client.h"

namespace tollgate {

// Calls `on_change` from a thread of its own whenever a node commits a
// control change to the Redis at `address` (the commit's PUBLISH), and once
// each time it (re)subscribes, since a change may have been missed while it
// was not. It reconnects on its own. The reloader's polling stays the full
// check; this only makes a change seen at once rather than at the next poll.
class RedisChangeListener {
 public:
  RedisChangeListener(RedisAddress address, std::function<void()> on_change);
  ~RedisChangeListener();
  RedisChangeListener(const RedisChangeListener&) = delete;
  RedisChangeListener& operator=(const RedisChangeListener&) = delete;

 private:
  void run();
  // Subscribes and waits for messages until the connection fails or stop.
  void listen_once();

  RedisAddress address_;
  std::function<void()> on_change_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tollgate
