#include "admin/admin_credentials.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "core/ids.h"

namespace tollgate {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

std::optional<AdminCredentials> read_credentials_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  AdminCredentials c;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (name == "aws_access_key_id") c.access_key_id = value;
    if (name == "aws_secret_access_key") c.secret_access_key = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    throw std::runtime_error(file.string() +
                             " needs aws_access_key_id and aws_secret_access_key lines");
  return c;
}

std::vector<AdminCredentials> load_admin_credentials(const std::filesystem::path& data_dir) {
  const char* id = std::getenv("TOLLGATE_ADMIN_ACCESS_KEY_ID");
  const char* secret = std::getenv("TOLLGATE_ADMIN_SECRET_ACCESS_KEY");
  if (id && *id && secret && *secret) return {AdminCredentials{id, secret}};
  if ((id && *id) != (secret && *secret))
    throw std::runtime_error(
        "set both TOLLGATE_ADMIN_ACCESS_KEY_ID and TOLLGATE_ADMIN_SECRET_ACCESS_KEY, or neither");

  const std::filesystem::path file = data_dir / "admin-credentials";
  if (auto existing = read_credentials_file(file)) return {*existing};
  AdminCredentials fresh{"TG" + random_key_value(18), random_key_value(40)};
  for (auto& c : fresh.access_key_id)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const mode_t old_mask = ::umask(077);
  {
    std::ofstream out(file);
    out << "[default]\naws_access_key_id = " << fresh.access_key_id
        << "\naws_secret_access_key = " << fresh.secret_access_key << "\n";
    if (!out) {
      ::umask(old_mask);
      throw std::runtime_error("cannot write " + file.string());
    }
  }
  ::umask(old_mask);
  spdlog::info("admin credentials created in {} (access key id {})", file.string(),
               fresh.access_key_id);
  return {fresh};
}

}  // namespace tollgate
