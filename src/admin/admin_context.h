#pragma once

#include <boost/json.hpp>

#include <functional>
#include <string>
#include <type_traits>

#include "admin/admin_error.h"
#include "core/clock.h"
#include "http/beast.h"
#include "limits/limit_states.h"
#include "metering/meter.h"
#include "store/control_diff.h"
#include "store/key_hashing.h"
#include "store/lease_keeper.h"
#include "store/store.h"

namespace tollgate {

// What management API handlers work with. Handlers run on the admin thread.
struct AdminContext {
  Store& store;
  Meter& meter;
  LimitStates& limits;
  const Clock& clock;
  // How the store keeps key values; none: as given, and a store that keeps
  // them hashed cannot take a key.
  const KeyHashing* key_hashing = nullptr;
  std::string account_id = "000000000000";
  // On Redis: the node's quota leases, which UpdateUsage moves.
  LeaseKeeper* leases = nullptr;

  std::int64_t now_s() const { return clock.now() / kNanosPerSecond; }

  // Called after every committed change: the data plane of this process
  // applies it now rather than at its next poll.
  std::function<void()> changed = {};

  // Runs `edit` inside one write transaction and writes what it changed; an
  // AdminError thrown by `edit` leaves the store untouched. `edit` gets the
  // few (APIs, stages, plans, the account: compared before and after) and,
  // when it takes it, the transaction, through which keys and memberships
  // are read and written one by one.
  template <typename Edit>
  auto edit(Edit&& edit) {
    auto tx = store.begin();
    const ControlState before = tx->few();
    ControlState after = before;
    auto result = [&] {
      if constexpr (std::is_invocable_v<Edit, ControlState&, ControlTransaction&>)
        return edit(after, *tx);
      else
        return edit(after);
    }();
    write_diff(*tx, before, after);
    tx->commit();
    if (changed) changed();
    return result;
  }

  // APIs, deployments, stages, usage plans and the account; no keys.
  ControlState few() { return store.few(); }

  // `value` as `state`'s store keeps it.
  std::string stored_key_value(const ControlState& state, std::string_view value) const {
    if (key_hashing) return key_hashing->stored_value(state, value);
    if (state.keys_hashed)
      throw std::runtime_error("the store keeps keys hashed; this process has no key secret");
    return std::string(value);
  }
};

HttpResponse admin_json(http::status status, const boost::json::value& body);
HttpResponse admin_empty(http::status status);
// A document that is no JSON answer of the API's own: an export.
HttpResponse admin_document(http::status status, std::string_view content_type, std::string body);

}  // namespace tollgate
