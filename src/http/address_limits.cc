#include "http/address_limits.h"

#include <functional>
#include <string_view>

namespace tollgate {

bool AddressLimits::try_take(const asio::ip::address& peer, UnixNanos now) {
  const auto hash_of = [](const auto& bytes) {
    return std::hash<std::string_view>{}(
        {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  };
  const std::size_t hash =
      peer.is_v4() ? hash_of(peer.to_v4().to_bytes()) : hash_of(peer.to_v6().to_bytes());
  std::int64_t wait_ns = 0;
  return buckets_[hash % buckets_.size()].try_take(params_, now, wait_ns);
}

}  // namespace tollgate
