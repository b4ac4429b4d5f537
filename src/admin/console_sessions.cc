#include "admin/console_sessions.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/ids.h"

namespace tollgate {

std::string ConsoleSessions::start(std::string access_key_id, std::int64_t now_s) {
  std::erase_if(sessions_, [&](const auto& entry) { return expired(entry.second, now_s); });
  if (sessions_.size() >= kMaxSessions) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.used_s < b.second.used_s; });
    sessions_.erase(oldest);
  }
  std::string id = random_key_value(43);
  sessions_[id] = Session{std::move(access_key_id), random_key_value(43), now_s, now_s};
  return id;
}

ConsoleSessions::Session* ConsoleSessions::find(std::string_view id, std::int64_t now_s) {
  if (id.empty()) return nullptr;
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return nullptr;
  if (expired(it->second, now_s)) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.used_s = now_s;
  return &it->second;
}

void ConsoleSessions::end(std::string_view id) { sessions_.erase(std::string(id)); }

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return {};
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tollgate
