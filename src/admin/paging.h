#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "admin/admin_error.h"
#include "admin/admin_request.h"

namespace tollgate {

struct PageRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string next_position;  // empty on the last page
};

// What a listing's keys are: created_order_key()s, resource paths or ids.
enum class ListingOrder { kCreated, kPath, kId };

// Picks the page of a listing that `limit` and `position` ask for. `keys`
// are the items' listing keys, ascending and unique; the position token is
// the key of the page's first item. A page goes on from where its token
// sorts, so an item deleted between two pages does not stop the listing; a
// token that is no key of the listing's kind is a 400. limit: default 25, at
// most 500.
PageRange page_of(const std::vector<std::string>& keys, ListingOrder order,
                  const AdminRequest& request);

// The listing key of an item listed by creation: the time, zero-padded so
// that keys sort as times do, then the id.
std::string created_order_key(std::int64_t created, const std::string& id);

// The page size `limit` asks for: default 25, at most 500.
std::size_t page_limit(const AdminRequest& request);

// {"item": [...], "position": "..."} for a page.
boost::json::object page_json(boost::json::array items, const PageRange& page);
boost::json::object page_json(boost::json::array items, const std::string& next_position);

}  // namespace tollgate
