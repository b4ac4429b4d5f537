// Fuzzes the API key import (POST /apikeys?mode=import&format=csv): the
// input is the CSV file. Any answer is fine but a crash or a 5xx.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "admin_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tollgate::AdminFixture admin;
  const std::string csv(reinterpret_cast<const char*>(data), size);
  tollgate::require_client_error_or_success(admin.call(
      tollgate::http::verb::post, "/apikeys?mode=import&format=csv&failonwarnings=false", csv));
  return 0;
}
