#include "http/backend_request.h"

#include <gtest/gtest.h>

#include "catalog/backend_uri.h"

namespace tollgate {
namespace {

struct Mapped {
  RouteMethod route;
  RouteTree tree;
  FieldList fields;
  PathParams params;

  Mapped(const std::string& uri, std::string_view resource, std::string_view path,
         std::initializer_list<std::pair<const char*, const char*>> mappings) {
    route.backend = *parse_backend_uri(uri);
    for (const auto& [key, value] : mappings)
      route.request_parameters.push_back(*parse_request_parameter(key, value).parameter);
    tree.add(resource, "GET", 0);
    EXPECT_EQ(tree.match(path, "GET", params), 0u);
  }
  std::string target(std::string_view query) const {
    std::string out;
    append_backend_target(out, route, {params, query, fields});
    return out;
  }
  std::string mapped_fields(std::string_view query) const {
    std::string out;
    append_mapped_fields(out, route, {params, query, fields});
    return out;
  }
};

TEST(BackendRequest, FillsPathParametersByName) {
  const Mapped m("http://b/pets/{petId}", "/pets/{petId}", "/pets/7", {});
  EXPECT_EQ(m.target("a=1"), "/pets/7?a=1");
}

TEST(BackendRequest, PathMappingRenamesAParameter) {
  const Mapped m("http://b/petstore/pets/{id}?x=1", "/pets/{petId}", "/pets/42",
                 {{"integration.request.path.id", "method.request.path.petId"}});
  EXPECT_EQ(m.target(""), "/petstore/pets/42?x=1");
}

TEST(BackendRequest, QueryMappingsReplaceTheClientsOfTheirName) {
  const Mapped m("http://b/pets", "/pets", "/pets",
                 {{"integration.request.querystring.page", "method.request.querystring.page"},
                  {"integration.request.querystring.kind", "method.request.querystring.type"},
                  {"integration.request.querystring.v", "'a b'"}});
  EXPECT_EQ(m.target("type=dog&page=2&other=x"), "/pets?type=dog&other=x&page=2&kind=dog&v=a%20b");
  EXPECT_EQ(m.target(""), "/pets?v=a%20b");  // absent sources are left out
}

TEST(BackendRequest, HeaderMappingsFromEachSource) {
  Mapped m("http://b/pets/{petId}", "/pets/{petId}", "/pets/a%20b",
           {{"integration.request.header.X-Static", "'yes'"},
            {"integration.request.header.X-Id", "method.request.path.petId"},
            {"integration.request.header.X-Page", "method.request.querystring.page"},
            {"integration.request.header.X-Who", "method.request.header.x-user"},
            {"integration.request.header.X-Bad", "method.request.querystring.bad"}});
  m.fields.add(http::field::unknown, "X-User", "ann");
  // X-Bad, which would carry a line break, is left out.
  EXPECT_EQ(m.mapped_fields("page=3&bad=%0d%0aHost:%20evil"),
            "X-Static: yes\r\nX-Id: a b\r\nX-Page: 3\r\nX-Who: ann\r\n");
  EXPECT_TRUE(maps_header(m.route, "x-static"));
  EXPECT_FALSE(maps_header(m.route, "x-other"));
}

TEST(BackendRequest, MappingsTheGatewayCannotServeAreRefused) {
  EXPECT_FALSE(parse_request_parameter("integration.request.header.Host", "'x'").parameter);
  EXPECT_FALSE(parse_request_parameter("integration.request.header.a b", "'x'").parameter);
  EXPECT_FALSE(parse_request_parameter("integration.request.body", "'x'").parameter);
  EXPECT_FALSE(
      parse_request_parameter("integration.request.header.X", "context.requestId").parameter);
  EXPECT_FALSE(parse_request_parameter("integration.request.header.X", "'a\nb'").parameter);
}

}  // namespace
}  // namespace tollgate
