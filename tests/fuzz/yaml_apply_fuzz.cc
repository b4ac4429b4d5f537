// Fuzzes `tollgate apply`: the input is the YAML file, parsed and applied to
// a real SQLite store. A refusal (std::invalid_argument naming what is wrong)
// is fine; a crash or any other exception is not.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "cli/apply.h"
#include "cli/declaration.h"
#include "store/sqlite_store.h"

namespace {

std::filesystem::path store_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tollgate-fuzz-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

struct Store {
  std::filesystem::path dir = store_dir();
  tollgate::SqliteStore store{dir / "tollgate.db"};
  ~Store() { std::filesystem::remove_all(dir); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Store s;
  try {
    const tollgate::Declaration declared =
        tollgate::load_declaration(std::string_view(reinterpret_cast<const char*>(data), size));
    tollgate::apply_declaration(s.store, declared, 1'700'000'000);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
