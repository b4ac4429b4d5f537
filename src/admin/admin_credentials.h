#pragma once

#include <filesystem>
#include <vector>

#include "admin/sigv4.h"

namespace tollgate {

// The credentials admin requests must be signed with: from
// TOLLGATE_ADMIN_ACCESS_KEY_ID / TOLLGATE_ADMIN_SECRET_ACCESS_KEY when set,
// else from `{data_dir}/admin-credentials`, which is created owner-only with
// a fresh random pair when missing. The secret is never logged.
std::vector<AdminCredentials> load_admin_credentials(const std::filesystem::path& data_dir);

// Reads an admin-credentials file (aws_access_key_id = ... /
// aws_secret_access_key = ... lines, as in ~/.aws/credentials).
std::optional<AdminCredentials> read_credentials_file(const std::filesystem::path& file);

}  // namespace tollgate
