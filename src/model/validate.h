#pragma once

// Rules every value must satisfy before it reaches the store, so the data plane
// only ever sees valid state. Each check throws std::invalid_argument with a
// message that names the field.

#include <string_view>

#include "model/types.h"

namespace tollgate {

void validate_throttle(const Throttle& t, std::string_view where);
void validate_quota(const Quota& q, std::string_view where);
void validate_key_value(std::string_view value);
// A customer id is kept with every count of its key's (meter slots, daily
// usage, the access log, export ids): at most this long.
constexpr std::size_t kMaxCustomerIdSize = 1024;
void validate_customer_id(std::string_view customer_id);
void validate_path_part(std::string_view part);
void validate_integration(const Integration& i, std::string_view where);

// Cross-entity rules of a whole state: references resolve, every key is in at
// most one plan per (api, stage), plan method throttles name real methods.
void validate_control_state(const ControlState& state);

}  // namespace tollgate
