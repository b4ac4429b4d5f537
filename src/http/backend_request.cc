#include "http/backend_request.h"

#include "core/percent_encoding.h"

namespace tollgate {
namespace {

// The raw value of the first `name` parameter of a query string; empty if none.
std::string_view query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return {};
}

// Path and query values come percent-encoded; header and static ones plain.
bool is_encoded(ParameterPlace p) {
  return p == ParameterPlace::kPath || p == ParameterPlace::kQuery;
}

std::string_view source_value(const RequestParameter& p, const ClientRequestParts& client) {
  switch (p.source) {
    case ParameterPlace::kStatic:
      return p.from;
    case ParameterPlace::kPath:
      return client.path.find(p.from);
    case ParameterPlace::kQuery:
      return query_value(client.query, p.from);
    case ParameterPlace::kHeader:
      return client.fields.find(std::string_view(p.from));
  }
  return {};
}

// Decodes %XX escapes onto `out`; false (and `out` as it was) when the text
// is malformed or decodes to a control byte, which no field value may hold.
bool append_decoded(std::string& out, std::string_view encoded) {
  const std::size_t start = out.size();
  if (!append_percent_decoded(out, encoded)) return false;
  for (std::size_t i = start; i < out.size(); ++i)
    if (static_cast<unsigned char>(out[i]) < 0x20 || out[i] == 0x7f) {
      out.resize(start);
      return false;
    }
  return true;
}

// `value`, read from `source`, into a target or query string.
void append_as_encoded(std::string& out, std::string_view value, ParameterPlace source) {
  if (is_encoded(source))
    out += value;
  else
    append_percent_encoded(out, value);
}

const RequestParameter* path_mapping(const RouteMethod& route, std::string_view name) {
  for (const RequestParameter& p : route.request_parameters)
    if (p.target == ParameterPlace::kPath && p.name == name) return &p;
  return nullptr;
}

bool maps_query(const RouteMethod& route) {
  for (const RequestParameter& p : route.request_parameters)
    if (p.target == ParameterPlace::kQuery) return true;
  return false;
}

// Whether a mapping sets the query parameter named `raw_name` (as the client
// wrote it: a name that needs escapes is not matched, and both are sent).
bool maps_query_named(const RouteMethod& route, std::string_view raw_name) {
  for (const RequestParameter& p : route.request_parameters) {
    if (p.target == ParameterPlace::kQuery && p.name == raw_name) return true;
  }
  return false;
}

}  // namespace

void append_backend_target(std::string& out, const RouteMethod& route,
                           const ClientRequestParts& client) {
  const std::size_t start = out.size();
  const bool mapped = !route.request_parameters.empty();  // rarely: most routes map nothing
  std::string_view t = route.backend.target;
  while (!t.empty()) {
    const std::size_t open = t.find('{');
    const std::size_t close = open == std::string_view::npos ? open : t.find('}', open);
    if (close == std::string_view::npos) {
      out += t;
      break;
    }
    out += t.substr(0, open);
    std::string_view name = t.substr(open + 1, close - open - 1);
    if (!name.empty() && name.back() == '+') name.remove_suffix(1);
    const RequestParameter* mapping = mapped ? path_mapping(route, name) : nullptr;
    if (mapping)
      append_as_encoded(out, source_value(*mapping, client), mapping->source);
    else
      out += client.path.find(name);
    t.remove_prefix(close + 1);
  }
  bool has_query = out.find('?', start) != std::string::npos;
  if (!client.query.empty()) {
    if (!mapped || !maps_query(route)) {
      out += has_query ? '&' : '?';
      out += client.query;
      has_query = true;
    } else {
      // A mapped parameter takes the place of the client's of that name.
      std::string_view rest = client.query;
      while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
        if (pair.empty() || maps_query_named(route, pair.substr(0, pair.find('=')))) continue;
        out += has_query ? '&' : '?';
        out += pair;
        has_query = true;
      }
    }
  }
  if (!mapped) return;
  for (const RequestParameter& p : route.request_parameters) {
    if (p.target != ParameterPlace::kQuery) continue;
    const std::string_view value = source_value(p, client);
    if (value.empty() && p.source != ParameterPlace::kStatic) continue;
    out += has_query ? '&' : '?';
    has_query = true;
    append_percent_encoded(out, p.name);
    out += '=';
    append_as_encoded(out, value, p.source);
  }
}

bool maps_header(const RouteMethod& route, std::string_view name) {
  for (const RequestParameter& p : route.request_parameters)
    if (p.target == ParameterPlace::kHeader && beast::iequals(p.name, name)) return true;
  return false;
}

void append_mapped_fields(std::string& head, const RouteMethod& route,
                          const ClientRequestParts& client) {
  for (const RequestParameter& p : route.request_parameters) {
    if (p.target != ParameterPlace::kHeader) continue;
    const std::string_view value = source_value(p, client);
    if (value.empty() && p.source != ParameterPlace::kStatic) continue;
    const std::size_t start = head.size();
    head += p.name;
    head += ": ";
    if (is_encoded(p.source) && !append_decoded(head, value)) {
      head.resize(start);  // a value no field can carry: left out
      continue;
    }
    if (!is_encoded(p.source)) head += value;
    head += "\r\n";
  }
}

}  // namespace tollgate
