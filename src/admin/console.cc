#include "admin/console.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "admin/admin_error.h"
#include "admin/admin_request.h"
#include "admin/console_views.h"
#include "core/percent_encoding.h"
#include "web/pages.h"

namespace tollgate {
namespace {

constexpr std::string_view kCookie = "tollgate_console";
constexpr std::string_view kMgmtPrefix = "/console/api/mgmt/";

constexpr std::string_view kStyle =
    "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;border-bottom:1px "
    "solid #ddd}"
    "label{display:block;margin:.4em 0}</style>";

constexpr std::string_view kSignInForm = R"html(<h1>tollgate console</h1>
<form method="post" action="/console/session">
<label>Access key id <input name="access_key_id" autocomplete="username" required></label>
<label>Secret access key <input name="secret_access_key" type="password" autocomplete="current-password" required></label>
<button>Sign in</button></form>)html";

HttpResponse page(http::status status, std::string_view body) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src "
          "'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  // Not no-referrer: a browser then sends "Origin: null" with a form, which
  // the origin check refuses.
  res.set("Referrer-Policy", "same-origin");
  res.body() =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tollgate "
      "console</title>";
  res.body() += kStyle;
  res.body() += "</head><body>";
  res.body() += body;
  res.body() += "</body></html>";
  res.prepare_payload();
  return res;
}

HttpResponse json_reply(http::status status, const boost::json::value& body) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

HttpResponse redirect_to_console() {
  HttpResponse res{http::status::see_other, 11};
  res.set(http::field::location, "/console");
  res.set(http::field::cache_control, "no-store");
  res.prepare_payload();
  return res;
}

// A form field of an application/x-www-form-urlencoded body.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  for (const auto& [raw_name, raw_value] : split_query(body)) {
    if (raw_name != name) continue;
    std::string value(raw_value);
    std::replace(value.begin(), value.end(), '+', ' ');
    return percent_decode(value);
  }
  return std::nullopt;
}

bool is_read(const HttpRequest& request) {
  return request.method() == http::verb::get || request.method() == http::verb::head;
}

// A change sent from another site's page: its Origin, when sent, must be
// this listener's.
bool cross_origin(const HttpRequest& request, bool tls) {
  const auto origin = request.find(http::field::origin);
  if (origin == request.end()) return false;
  return origin->value() !=
         std::string(tls ? "https://" : "http://") + std::string(request[http::field::host]);
}

}  // namespace

Console::Console(const std::vector<AdminCredentials>& credentials, AdminContext& context,
                 Operate operate, bool tls)
    : credentials_(credentials),
      context_(context),
      operate_(std::move(operate)),
      tls_(tls),
      sign_ins_by_address_(BucketParams::from(Throttle{1.0, 5})),
      sign_in_limit_(BucketParams::from(Throttle{10.0, 20})) {}

HttpResponse Console::respond(const HttpRequest& request, const asio::ip::address& peer) {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (!is_read(request) && cross_origin(request, tls_))
    return json_reply(http::status::forbidden,
                      {{"message", "Changes must come from this console's own pages"}});
  if (path == "/console/session" && request.method() == http::verb::post)
    return sign_in(request, peer);

  const std::string_view id = cookie_value(request[http::field::cookie], kCookie);
  ConsoleSessions::Session* session = sessions_.find(id, now_s());
  if (!session) {
    if (path.starts_with("/console/api/") || !is_read(request))
      return json_reply(http::status::unauthorized, {{"message", "Sign in to the console first"}});
    return page(http::status::ok, kSignInForm);
  }
  if (path.starts_with("/console/api/")) return api(request, *session, path);
  if (path == "/console/session/end" && request.method() == http::verb::post) {
    if (!carries_token(request, *session))
      return json_reply(http::status::forbidden, {{"message", "Missing or wrong CSRF token"}});
    return sign_out(request, id);
  }
  if ((path == "/console" || path == "/console/") && is_read(request)) {
    // The built page, whole; it asks /console/api/session for its token.
    HttpResponse res = page(http::status::ok, "");
    res.body() = kConsolePageHtml;
    res.prepare_payload();
    return res;
  }
  return json_reply(http::status::not_found,
                    {{"message", "No console page at " + std::string(path)}});
}

HttpResponse Console::sign_in(const HttpRequest& request, const asio::ip::address& peer) {
  std::int64_t wait_ns = 0;
  const UnixNanos now = context_.clock.now();
  if (!sign_ins_by_address_.try_take(peer, now) ||
      !sign_ins_.try_take(sign_in_limit_, now, wait_ns)) {
    HttpResponse res =
        page(http::status::too_many_requests, "<p>Too many sign-in attempts; wait a moment.</p>");
    res.set(http::field::retry_after, "1");
    return res;
  }
  const std::optional<std::string> key_id = form_field(request.body(), "access_key_id");
  const std::optional<std::string> secret = form_field(request.body(), "secret_access_key");
  const bool known =
      key_id && secret && std::any_of(credentials_.begin(), credentials_.end(), [&](const auto& c) {
        return c.access_key_id == *key_id && same_secret(c.secret_access_key, *secret);
      });
  if (!known) {
    // What was typed is logged only if it looks like an access key id.
    const bool loggable =
        key_id && key_id->size() <= 128 &&
        std::all_of(key_id->begin(), key_id->end(), [](char c) { return std::isalnum(c & 0xFF); });
    spdlog::warn("console sign-in refused{}",
                 loggable ? " for access key " + *key_id : std::string());
    return page(http::status::unauthorized,
                std::string("<p>Wrong access key id or secret.</p>") + std::string(kSignInForm));
  }
  const std::string id = sessions_.start(*key_id, now_s());
  spdlog::info("console: {} signed in", *key_id);
  HttpResponse res = redirect_to_console();
  res.set(http::field::set_cookie, std::string(kCookie) + "=" + id + "; Path=/console; Max-Age=" +
                                       std::to_string(ConsoleSessions::kLifetimeS) +
                                       "; HttpOnly; SameSite=Strict" + (tls_ ? "; Secure" : ""));
  return res;
}

HttpResponse Console::sign_out(const HttpRequest&, std::string_view session_id) {
  sessions_.end(session_id);
  HttpResponse res = redirect_to_console();
  res.set(http::field::set_cookie, std::string(kCookie) +
                                       "=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict" +
                                       (tls_ ? "; Secure" : ""));
  return res;
}

bool Console::carries_token(const HttpRequest& request,
                            const ConsoleSessions::Session& session) const {
  const std::string_view header = request["X-CSRF-Token"];
  if (!header.empty()) return same_secret(header, session.csrf_token);
  const std::optional<std::string> field = form_field(request.body(), "csrf");
  return field && same_secret(*field, session.csrf_token);
}

HttpResponse Console::api(const HttpRequest& request, const ConsoleSessions::Session& session,
                          std::string_view path) {
  if (!is_read(request) && !carries_token(request, session))
    return json_reply(http::status::forbidden, {{"message", "Missing or wrong CSRF token"}});
  if (path == "/console/api/session")
    return json_reply(http::status::ok,
                      {{"accessKeyId", session.access_key_id}, {"csrfToken", session.csrf_token}});
  if (path.starts_with(kMgmtPrefix)) {
    HttpRequest operation = request;
    const std::string_view target = request.target();
    operation.target(std::string("/") + std::string(target.substr(kMgmtPrefix.size())));
    return operate_(operation, session.access_key_id);
  }
  if (is_read(request)) return view(request, path);
  return json_reply(http::status::not_found,
                    {{"message", "No console API at " + std::string(path)}});
}

HttpResponse Console::view(const HttpRequest& request, std::string_view path) {
  try {
    const AdminRequest req(request, "");
    if (path == "/console/api/overview")
      return json_reply(http::status::ok, console_overview(context_, req));
    if (path == "/console/api/usage") {
      const std::optional<std::string> plan = req.query("planId");
      const std::optional<std::string> days = req.query("days");
      if (!plan || plan->empty() || (days && *days != "30" && *days != "90"))
        return json_reply(http::status::bad_request,
                          {{"message", "usage needs planId, and days of 30 or 90"}});
      return json_reply(http::status::ok, console_daily_usage(context_, *plan, req.query("keyId"),
                                                              days && *days == "90" ? 90 : 30));
    }
    if (path == "/console/api/recent") {
      const std::optional<std::string> plan = req.query("planId");
      const std::optional<std::string> key = req.query("keyId");
      if (!plan || plan->empty() || (key && key->empty()))
        return json_reply(http::status::bad_request,
                          {{"message", "recent needs planId, and a keyId if any"}});
      return json_reply(http::status::ok, console_recent_requests(context_, *plan, key));
    }
  } catch (const AdminError& e) {
    return json_reply(e.status(), {{"message", e.what()}});
  } catch (const StoreUnavailable& e) {
    spdlog::error("console {}: store unavailable: {}", path, e.what());
    HttpResponse res = json_reply(http::status::service_unavailable,
                                  {{"message", "The store is unavailable now"}});
    res.set(http::field::retry_after, "1");
    return res;
  }
  return json_reply(http::status::not_found,
                    {{"message", "No console API at " + std::string(path)}});
}

}  // namespace tollgate
