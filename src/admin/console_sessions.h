#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tollgate {

// The owner console's signed-in sessions. Each has an id, the cookie's value,
// and a CSRF token that every change must carry; both are 43 random
// characters (256 bits). A session ends when signed out, after 8 hours, or
// after an hour unused. Held in memory: a restart signs everyone out. Used on
// the admin thread only.
class ConsoleSessions {
 public:
  struct Session {
    std::string access_key_id;  // who signed in: the actor of their changes
    std::string csrf_token;
    std::int64_t started_s = 0;
    std::int64_t used_s = 0;
  };

  static constexpr std::int64_t kLifetimeS = 8 * 3600;
  static constexpr std::int64_t kIdleS = 3600;
  static constexpr std::size_t kMaxSessions = 1000;

  // Starts a session and returns its id. Past kMaxSessions the session
  // unused longest ends.
  std::string start(std::string access_key_id, std::int64_t now_s);
  // The live session `id` names, marked used now; null when there is none.
  Session* find(std::string_view id, std::int64_t now_s);
  void end(std::string_view id);
  std::size_t size() const { return sessions_.size(); }

 private:
  bool expired(const Session& s, std::int64_t now_s) const {
    return now_s - s.started_s >= kLifetimeS || now_s - s.used_s >= kIdleS;
  }

  std::unordered_map<std::string, Session> sessions_;
};

// The value of cookie `name` in a Cookie header; empty when absent.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// Whether two secrets are equal, in time that depends only on their length.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace tollgate
