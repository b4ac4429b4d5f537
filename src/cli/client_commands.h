#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace tollgate {

// `tollgate keys|plans|usage ...`: everyday jobs over the management API.
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

}  // namespace tollgate
