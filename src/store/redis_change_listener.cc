#include "store/redis_change_listener.h"

#include <poll.h>

#include <chrono>

#include "store/redis_store.h"
#include "core/thread_name.h"

namespace tollgate {
namespace {

// How often the thread looks at its stop flag, and waits before reconnecting.
constexpr int kPollMs = 200;
constexpr std::chrono::milliseconds kReconnectPause{500};

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};

}  // namespace

RedisChangeListener::RedisChangeListener(RedisAddress address, std::function<void()> on_change)
    : address_(std::move(address)), on_change_(std::move(on_change)), thread_([this] {
        name_this_thread("redis-changes");
        run();
      }) {}

RedisChangeListener::~RedisChangeListener() {
  stopping_ = true;
  thread_.join();
}

void RedisChangeListener::run() {
  while (!stopping_) {
    listen_once();
    for (auto waited = std::chrono::milliseconds(0); !stopping_ && waited < kReconnectPause;
         waited += std::chrono::milliseconds(kPollMs))
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

void RedisChangeListener::listen_once() {
  const timeval connect_timeout{1, 0};
  std::string error;
  std::unique_ptr<redisContext, ContextFree> c(connect_to_master(address_, connect_timeout, error));
  if (!c) return;
  // SELECT is not needed: PUBLISH reaches subscribers whatever their database.
  redisAppendCommand(c.get(), "SUBSCRIBE %s", RedisStore::kChangesChannel);
  for (int done = 0; !done;)
    if (redisBufferWrite(c.get(), &done) != REDIS_OK) return;
  while (!stopping_) {
    pollfd readable{c->fd, POLLIN, 0};
    const int ready = poll(&readable, 1, kPollMs);
    if (ready < 0) return;
    if (ready == 0) continue;
    if (redisBufferRead(c.get()) != REDIS_OK) return;
    void* raw = nullptr;
    while (redisGetReplyFromReader(c.get(), &raw) == REDIS_OK && raw) {
      const RedisReply reply(static_cast<redisReply*>(raw));
      raw = nullptr;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) continue;
      const std::string kind = reply_text(*reply->element[0]);
      // The subscription's confirmation counts too: anything published
      // while this listener was away is caught by one check now.
      if (kind == "message" || kind == "subscribe") on_change_();
    }
    if (c->err) return;
  }
}

}  // namespace tollgate
