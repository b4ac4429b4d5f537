#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "cli/admin_client.h"
#include "store/store.h"

namespace tollgate {

// `tollgate keys|plans|usage|apis ...`: everyday jobs over the management API.
// Each leaf command, once parsed, leaves its work in `run`; it returns the
// exit code and throws on failure.
struct ClientCommands {
  std::string endpoint;
  std::string ca_file;  // trusted for an https endpoint, beside the system's
  std::string access_key_id;
  std::string secret_access_key;
  std::string data_dir;
  std::string output = "table";
  std::function<int()> run;
};

void add_client_commands(CLI::App& app, ClientCommands& commands);

// A client of the management API the options and environment name.
AdminClient connect(const ClientCommands& commands);

// `tollgate apis import|export`: api_commands.cc.
void add_api_commands(CLI::App& app, ClientCommands& commands);

}  // namespace tollgate
