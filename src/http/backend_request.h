#pragma once

// What of the backend request comes from the route rather than the client:
// the target, with the uri's {param}s filled, and the fields and query
// parameters the integration's requestParameters map in. Writes straight into
// the request head; allocates nothing.

#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "http/field_list.h"

namespace tollgate {

// The parts of the client's request a mapping can read.
struct ClientRequestParts {
  const PathParams& path;
  std::string_view query;  // raw, without '?'
  const FieldList& fields;
};

// The backend target: {name} placeholders filled from the integration's
// path mappings or else the matched path, then the client's query string,
// then the mapped query parameters.
void append_backend_target(std::string& out, const RouteMethod& route,
                           const ClientRequestParts& client);

// Whether the route maps a header named `name` (any case): the client's
// own field of that name is not forwarded.
bool maps_header(const RouteMethod& route, std::string_view name);

// The mapped header fields whose source the request has.
void append_mapped_fields(std::string& head, const RouteMethod& route,
                          const ClientRequestParts& client);

}  // namespace tollgate
