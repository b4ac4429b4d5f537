// `tollgate apis import|export`: an OpenAPI definition into an API and back
// out, over the management API (ImportRestApi, PutRestApi, GetExport).

#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/client_commands.h"
#include "core/percent_encoding.h"

namespace tollgate {
namespace json = boost::json;

namespace {

struct ImportSpec {
  std::string file;
  std::string api;
  std::string mode = "merge";
  std::string base_path;
  bool fail_on_warnings = false;
};

int import_definition(const ClientCommands& c, const ImportSpec& spec) {
  std::ifstream in(spec.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::invalid_argument("cannot read " + spec.file);
  std::string query;
  if (spec.fail_on_warnings) query += "&failonwarnings=true";
  if (!spec.base_path.empty()) query += "&basepath=" + percent_encode(spec.base_path);
  AdminClient client = connect(c);
  const json::value api =
      spec.api.empty()
          ? client.call(http::verb::post, "/restapis?mode=import" + query, text.str(),
                        "application/octet-stream")
          : client.call(http::verb::put,
                        "/restapis/" + percent_encode(spec.api) + "?mode=" + spec.mode + query,
                        text.str(), "application/octet-stream");
  if (c.output == "json") {
    std::cout << json::serialize(api) << '\n';
    return 0;
  }
  std::cout << (spec.api.empty() ? "imported API " : "updated API ")
            << api.at("id").as_string().c_str() << " (" << api.at("name").as_string().c_str()
            << ")\n";
  if (const json::value* warnings = api.as_object().if_contains("warnings"))
    for (const auto& w : warnings->as_array())
      std::cerr << "warning: " << w.as_string().c_str() << '\n';
  return 0;
}

}  // namespace

void add_api_commands(CLI::App& app, ClientCommands& c) {
  auto* apis = app.add_subcommand("apis", "Import and export APIs as OpenAPI definitions")
                   ->require_subcommand(1);

  auto* import = apis->add_subcommand(
      "import",
      "Create an API from an OpenAPI 3.0 or Swagger 2.0 file (JSON or YAML), or with --api put it "
      "into an existing one; deploy it to serve it");
  auto spec = std::make_shared<ImportSpec>();
  import->add_option("file", spec->file, "The definition")->required()->check(CLI::ExistingFile);
  import->add_option("--api", spec->api, "Put the definition into this API instead");
  import->add_option("--mode", spec->mode, "With --api: merge (default) or overwrite")
      ->check(CLI::IsMember({"merge", "overwrite"}));
  import->add_option("--basepath", spec->base_path, "ignore (default), prepend or split")
      ->check(CLI::IsMember({"ignore", "prepend", "split"}));
  import->add_flag("--fail-on-warnings", spec->fail_on_warnings,
                   "Change nothing if any part of the file would be ignored");
  import->callback([&c, spec] { c.run = [&c, spec] { return import_definition(c, *spec);
};
}  // namespace tollgate
);

auto* exp = apis->add_subcommand(
    "export", "Write what a stage serves as an OpenAPI definition, with tollgate's extensions");
auto api = std::make_shared<std::string>();
auto stage = std::make_shared<std::string>();
auto format = std::make_shared<std::string>("yaml");
auto type = std::make_shared<std::string>("oas30");
exp->add_option("api", *api, "API id")->required();
exp->add_option("--stage", *stage, "Stage name")->required();
exp->add_option("--format", *format, "yaml (default) or json")
    ->check(CLI::IsMember({"yaml", "json"}));
exp->add_option("--type", *type, "oas30 (default) or swagger")
    ->check(CLI::IsMember({"oas30", "swagger"}));
exp->callback([&c, api, stage, format, type] {
  c.run = [&c, api, stage, format, type] {
    AdminClient client = connect(c);
    std::cout << client.fetch("/restapis/" + percent_encode(*api) + "/stages/" +
                                  percent_encode(*stage) + "/exports/" + *type +
                                  "?extensions=apigateway",
                              "application/" + *format);
    return 0;
  };
});
}

}  // namespace tollgate
