#pragma once

// Request metrics in the shapes Prometheus reads: counters per route and
// outcome, and latency histograms. Updated lock-free with relaxed atomics on
// the request path; registered and rendered off it.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "core/stats.h"

namespace tollgate {

// A latency histogram with fixed buckets (seconds, as Prometheus wants).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
  void observe_ns(std::int64_t nanos);
  // Appends name_bucket/_sum/_count lines with `labels` (e.g. `kind="upstream"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Requests of one route (api, stage, resource, method) by outcome.
struct RouteCounters {
  std::array<std::atomic<std::uint64_t>, static_cast<int>(Outcome::kCount)> by_outcome{};
  void count(Outcome o) { by_outcome[static_cast<int>(o)].fetch_add(1, std::memory_order_relaxed); }
};

class MetricsRegistry {
 public:
  // The counters of a route; the same object for the same route for the life
  // of the registry, so counts survive catalog reloads. Control plane.
  RouteCounters& route(const std::string& api, const std::string& stage,
                       const std::string& resource, const std::string& method);
  // Requests that named no deployed route (unknown API, stage or resource).
  RouteCounters& unrouted() { return unrouted_; }

  Histogram& overhead() { return overhead_; }
  Histogram& upstream() { return upstream_; }

  // tollgate_requests_total and the two latency histograms.
  void render(std::string& out);

 private:
  std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           std::unique_ptr<RouteCounters>>
      routes_;
  RouteCounters unrouted_;
  Histogram overhead_;
  Histogram upstream_;
};

}  // namespace tollgate
