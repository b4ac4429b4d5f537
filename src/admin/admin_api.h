#pragma once

#include <vector>

#include "admin/admin_context.h"
#include "admin/sigv4.h"
#include "catalog/catalog_holder.h"
#include "core/stats.h"
#include "http/beast.h"

namespace tollgate {

// The admin listener's handler: GET /health (open), and the AWS-compatible
// management API (spec §2), every request of which must carry a valid SigV4
// signature made with one of `credentials`. Runs on the admin thread.
class AdminApi {
 public:
  AdminApi(AdminContext context, std::vector<AdminCredentials> credentials, const CatalogHolder& catalogs,
           const Stats& stats)
      : context_(std::move(context)), credentials_(std::move(credentials)), catalogs_(catalogs), stats_(stats) {}

  asio::awaitable<HttpResponse> handle(HttpRequest& request);
  // The synchronous core of handle(), for tests.
  HttpResponse respond(const HttpRequest& request);

 private:
  HttpResponse health() const;

  AdminContext context_;
  std::vector<AdminCredentials> credentials_;
  const CatalogHolder& catalogs_;
  const Stats& stats_;
};

}  // namespace tollgate
