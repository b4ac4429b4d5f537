#pragma once

// The owner console on the admin listener, under /console.
//
// Signing in (POST /console/session with the admin credentials as a form)
// starts a session: a cookie that is HttpOnly, SameSite=Strict, limited to
// /console and Secure over TLS, and a CSRF token that every change must
// carry, in an X-CSRF-Token header or a `csrf` form field. Requests without
// a live session get the sign-in page (pages) or 401 (the API).
//
// The console's API reaches the management operations as the signed-in
// access key: /console/api/mgmt/PATH is the management API's PATH, with
// its JSON. Beside them: GET /console/api/session (who is signed in, and
// the token), GET /console/api/overview[?nameQuery&limit&position],
// GET /console/api/usage?planId=P[&keyId=K][&days=30|90] and
// GET /console/api/recent?planId=P[&keyId=K] (see console_views.h).

#include <functional>
#include <string>
#include <vector>

#include "admin/admin_context.h"
#include "admin/console_sessions.h"
#include "admin/sigv4.h"
#include "core/clock.h"
#include "http/address_limits.h"
#include "http/beast.h"
#include "limits/token_bucket.h"

namespace tollgate {

class Console {
 public:
  // Runs a management operation for `request` (its target the management
  // API's) on behalf of `actor`.
  using Operate = std::function<HttpResponse(const HttpRequest& request, const std::string& actor)>;

  // `credentials` is read at every sign-in, so that a reload is followed.
  Console(const std::vector<AdminCredentials>& credentials, AdminContext& context, Operate operate,
          bool tls);

  static bool serves(std::string_view path) {
    return path == "/console" || path.starts_with("/console/");
  }
  // `peer`: the client's address, which sign-ins are limited by.
  HttpResponse respond(const HttpRequest& request, const asio::ip::address& peer);

 private:
  HttpResponse sign_in(const HttpRequest& request, const asio::ip::address& peer);
  HttpResponse sign_out(const HttpRequest& request, std::string_view session_id);
  HttpResponse api(const HttpRequest& request, const ConsoleSessions::Session& session,
                   std::string_view path);
  // A change that does not carry the session's token is refused.
  bool carries_token(const HttpRequest& request, const ConsoleSessions::Session& session) const;
  HttpResponse view(const HttpRequest& request, std::string_view path);
  std::int64_t now_s() const { return context_.now_s(); }

  const std::vector<AdminCredentials>& credentials_;
  AdminContext& context_;
  Operate operate_;
  bool tls_;
  ConsoleSessions sessions_;
  // Sign-in attempts: guessing a secret takes forever from one address,
  // and from many. One client's guesses do not keep the owner out.
  AddressLimits sign_ins_by_address_;
  TokenBucket sign_ins_;
  BucketParams sign_in_limit_;
};

}  // namespace tollgate
