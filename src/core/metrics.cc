#include "core/metrics.h"

#include <fmt/format.h>

namespace tollgate {
namespace {

// Prometheus label values escape backslash, quote and newline.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Histogram::observe_ns(std::int64_t nanos) {
  const double seconds = static_cast<double>(nanos) / 1e9;
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(nanos < 0 ? 0 : nanos), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < kBounds.size() ? fmt::format("{:g}", kBounds[i]) : "+Inf";
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, le, cumulative);
  }
  out += fmt::format("{}_sum{{{}}} {:.9f}\n", name, labels,
                     static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, cumulative);
}

RouteCounters& MetricsRegistry::route(const std::string& api, const std::string& stage,
                                      const std::string& resource, const std::string& method) {
  std::lock_guard lock(mutex_);
  auto& slot = routes_[{api, stage, resource, method}];
  if (!slot) slot = std::make_unique<RouteCounters>();
  return *slot;
}

void MetricsRegistry::render(std::string& out) {
  out += "# HELP tollgate_requests_total Data-plane requests by route and outcome.\n";
  out += "# TYPE tollgate_requests_total counter\n";
  auto emit = [&](const std::string& labels, const RouteCounters& c) {
    for (int o = 0; o < static_cast<int>(Outcome::kCount); ++o) {
      const std::uint64_t n = c.by_outcome[o].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += fmt::format("tollgate_requests_total{{{},outcome=\"{}\"}} {}\n", labels,
                         outcome_name(static_cast<Outcome>(o)), n);
    }
  };
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, counters] : routes_) {
      const auto& [api, stage, resource, method] = key;
      emit(fmt::format("api=\"{}\",stage=\"{}\",resource=\"{}\",method=\"{}\"", label_value(api),
                       label_value(stage), label_value(resource), label_value(method)),
           *counters);
    }
  }
  emit("api=\"\",stage=\"\",resource=\"\",method=\"\"", unrouted_);
  out +=
      "# HELP tollgate_request_duration_seconds Time spent, by part: the gateway's own work, and "
      "waiting for the upstream.\n";
  out += "# TYPE tollgate_request_duration_seconds histogram\n";
  overhead_.render(out, "tollgate_request_duration_seconds", "part=\"gateway\"");
  upstream_.render(out, "tollgate_request_duration_seconds", "part=\"upstream\"");
}

}  // namespace tollgate
