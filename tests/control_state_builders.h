#pragma once

// Small pieces of a control state for tests that build catalogs from one.

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "model/types.h"

namespace tollgate {

// A method whose integration is a MOCK (answers 200).
inline Method mock_method(const std::string& verb, bool key_required) {
  Method m;
  m.http_method = verb;
  m.api_key_required = key_required;
  m.integration = Integration{};
  return m;
}

// A method proxied to `uri` with the same verb.
inline Method proxy_method(const std::string& verb, bool key_required, const std::string& uri,
                           std::int64_t timeout_ms = 29000) {
  Method m = mock_method(verb, key_required);
  m.integration->type = IntegrationType::kHttpProxy;
  m.integration->http_method = verb;
  m.integration->uri = uri;
  m.integration->timeout_ms = timeout_ms;
  return m;
}

// A stage serving `deployment_id`, with nothing else set.
inline Stage stage_of(const std::string& api_id, const std::string& name,
                      const std::string& deployment_id) {
  Stage s;
  s.api_id = api_id;
  s.stage_name = name;
  s.deployment_id = deployment_id;
  return s;
}

inline UsagePlan usage_plan(const std::string& id, const std::string& name,
                            std::vector<ApiStage> api_stages) {
  UsagePlan p;
  p.id = id;
  p.name = name;
  p.api_stages = std::move(api_stages);
  return p;
}

// A store that has counted nothing yet, for build_catalog.
inline const UsageLoader& no_stored_usage() {
  static const UsageLoader loader = [](const std::string&, const std::string&, QuotaPeriod,
                                       std::int64_t, std::int64_t) { return std::int64_t{0}; };
  return loader;
}

}  // namespace tollgate
