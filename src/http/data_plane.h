#pragma once

#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/stats.h"
#include "http/beast.h"
#include "http/upstream_pool.h"

namespace tollgate {

// One worker's request handler for the data plane: route, gate, integrate.
// Lives on one io_context thread; not thread-safe.
class DataPlane {
 public:
  DataPlane(asio::any_io_executor executor, const CatalogHolder& catalogs, const Clock& clock,
            Stats& stats)
      : catalogs_(catalogs), clock_(clock), stats_(stats), upstreams_(std::move(executor)) {}

  asio::awaitable<HttpResponse> handle(HttpRequest& request);

 private:
  asio::awaitable<HttpResponse> proxy(const RouteMethod& method, const PathParams& params,
                                      std::string_view query, HttpRequest& request);
  HttpResponse refuse(Outcome outcome);

  CatalogView catalogs_;
  const Clock& clock_;
  Stats& stats_;
  UpstreamPool upstreams_;
};

}  // namespace tollgate
