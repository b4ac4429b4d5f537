#pragma once

#include <functional>
#include <vector>

#include "admin/admin_context.h"
#include "admin/console.h"
#include "admin/sigv4.h"
#include "catalog/catalog_holder.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "http/beast.h"

namespace tollgate {

// The admin listener's handler: GET /health and GET /metrics (Prometheus
// text; both open, neither names a key), the owner console under /console
// (its own sign-in, see console.h), and the AWS-compatible management API
// (spec §2), every request of which must carry a valid SigV4 signature made
// with one of `credentials`. Runs on the admin thread.
class AdminApi {
 public:
  // What /metrics reports beside the request metrics.
  struct Gauges {
    MetricsRegistry& metrics;
    std::function<std::size_t()> upstream_idle_connections;
    std::function<std::size_t()> client_connections;
    // Appends the store's own metrics, if it has any.
    std::function<void(std::string&)> store_metrics = [](std::string&) {};
    // Appends the counters the data plane's workers keep themselves.
    std::function<void(std::string&)> worker_metrics = [](std::string&) {};
  };

  // `tls`: the listener speaks HTTPS, so the console's cookie is Secure.
  AdminApi(AdminContext context, std::vector<AdminCredentials> credentials,
           const CatalogHolder& catalogs, const Stats& stats, Gauges gauges, bool tls = false)
      : context_(std::move(context)),
        credentials_(std::move(credentials)),
        catalogs_(catalogs),
        stats_(stats),
        gauges_(std::move(gauges)),
        console_(
            credentials_, context_,
            [this](const HttpRequest& request, const std::string& actor) {
              return operate(request, actor);
            },
            tls) {}
  // The console holds on to this one's credentials and operations.
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // `peer`: the client's address, which console sign-ins are limited by.
  asio::awaitable<HttpResponse> handle(HttpRequest& request, const asio::ip::address& peer);
  // Signatures are checked against these from the next request on.
  void set_credentials(std::vector<AdminCredentials> credentials) {
    credentials_ = std::move(credentials);
  }
  // The synchronous core of handle(), for tests.
  HttpResponse respond(const HttpRequest& request, const asio::ip::address& peer = {});

 private:
  HttpResponse health() const;
  HttpResponse metrics();
  // Runs the management operation `request` names, on behalf of `actor`.
  HttpResponse operate(const HttpRequest& request, const std::string& actor);

  AdminContext context_;
  std::vector<AdminCredentials> credentials_;
  const CatalogHolder& catalogs_;
  const Stats& stats_;
  Gauges gauges_;
  Console console_;
};

}  // namespace tollgate
