#pragma once

// What the owner console shows, read from the store on the admin thread.

#include <boost/json.hpp>

#include <optional>
#include <string>

#include "admin/admin_context.h"
#include "admin/admin_request.h"

namespace tollgate {

// APIs and their stages; plans (throttle, quota, stages, how many keys);
// the keys closest to their quota, closest first; and a page of keys (name,
// customer, enabled, today's requests, and under each plan with a quota
// what was used of it and its percentage), by name, those whose name starts
// with the query's `nameQuery` and which are in its `planId` if any, the
// page `limit` and `position` ask for as in the management API. Never a
// key's value.
boost::json::value console_overview(AdminContext& ctx, const AdminRequest& request);

// Requests per day over the last `days` days (today included), oldest
// first, for a plan's keys together or for one key under it.
boost::json::value console_daily_usage(AdminContext& ctx, const std::string& plan_id,
                                       const std::optional<std::string>& key_id, int days);

// Requests by outcome (allowed, throttled, quota exceeded) in each minute of
// the last hour, oldest first, for a plan's keys together or for one key
// under it. The last minute is the current one, `seconds` long so far.
boost::json::value console_recent_requests(AdminContext& ctx, const std::string& plan_id,
                                           const std::optional<std::string>& key_id);

}  // namespace tollgate
