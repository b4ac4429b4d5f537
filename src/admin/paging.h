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

// Picks the page of `ids` (already in listing order) that `limit` and
// `position` ask for. The position token is the id of the page's first item;
// an unknown token is a 400. limit: default 25, at most 500.
PageRange page_of(const std::vector<std::string>& ids, const AdminRequest& request);

// The page size `limit` asks for: default 25, at most 500.
std::size_t page_limit(const AdminRequest& request);

// {"item": [...], "position": "..."} for a page.
boost::json::object page_json(boost::json::array items, const PageRange& page);
boost::json::object page_json(boost::json::array items, const std::string& next_position);

}  // namespace tollgate
