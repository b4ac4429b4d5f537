#pragma once

// The customer usage page on the data listener. GET PATH serves the page;
// GET PATH/api answers, for the key sent in x-api-key, the limits of each
// plan it is in, the quota left in this period and when it resets, and its
// daily usage: never another key's data, and 403 with nothing for a key
// that is unknown or disabled. Each client address may ask `rate` times a
// second (a burst of `burst`); past that, 429.

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "http/address_limits.h"
#include "http/executor.h"
#include "http/message_reader.h"
#include "http/reply.h"
#include "store/store.h"

namespace tollgate {

class UsagePage {
 public:
  struct Options {
    std::string path = "/_usage";  // empty: no page
    double rate = 1.0;             // answers per second and client address
    std::int64_t burst = 10;
    int days = 30;  // of daily usage shown
  };

  // `store` is read on `store_executor`'s thread only, one of its own: never
  // on a worker's, nor on the thread that handles signals.
  UsagePage(Options options, Store& store, Executor store_executor, const Clock& clock);

  // Whether `target` (path and query) is the page or its API.
  bool serves(std::string_view target) const;
  // Answers a request for the page into `reply`. `peer`: the client's
  // address, which its answers are limited by.
  Task<void> answer(const InboundMessage& request, std::shared_ptr<const Catalog> catalog,
                    const asio::ip::address& peer, Reply& reply);

 private:
  struct PlanUsage;
  // The days shown are [first_day, last_day], those the store was read for.
  boost::json::value api_answer(const std::vector<PlanUsage>& plans, std::string_view key_id,
                                std::int64_t first_day, std::int64_t last_day) const;

  Options options_;
  Store& store_;
  Executor store_executor_;
  const Clock& clock_;
  AddressLimits by_address_;
};

}  // namespace tollgate
