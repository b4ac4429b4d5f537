#pragma once

#include <array>

#include "core/clock.h"
#include "http/beast.h"
#include "limits/token_bucket.h"

namespace tollgate {

// A token bucket per client address, for what is limited per client: the
// usage page, console sign-ins. Addresses share buckets by hash: a
// collision only makes two clients share one limit, and memory stays fixed
// however many addresses come. Lock-free.
class AddressLimits {
 public:
  explicit AddressLimits(BucketParams params) : params_(params) {}

  // Takes a token from `peer`'s bucket; false when it has none.
  bool try_take(const asio::ip::address& peer, UnixNanos now);

 private:
  BucketParams params_;
  std::array<TokenBucket, 4096> buckets_;
};

}  // namespace tollgate
