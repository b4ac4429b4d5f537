#pragma once

#include "catalog/catalog_holder.h"
#include "core/stats.h"
#include "http/beast.h"

namespace tollgate {

// The admin listener's handler. For now: GET /health with the serving
// catalog's version and outcome counters. The AWS-compatible management API
// is added here.
class AdminApi {
 public:
  AdminApi(const CatalogHolder& catalogs, const Stats& stats) : catalogs_(catalogs), stats_(stats) {}
  asio::awaitable<HttpResponse> handle(HttpRequest& request);

 private:
  const CatalogHolder& catalogs_;
  const Stats& stats_;
};

}  // namespace tollgate
