#include "cli/client_commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "admin/admin_credentials.h"
#include "cli/admin_client.h"
#include "cli/table.h"
#include "core/percent_encoding.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"
#include "metering/closed_days.h"
#include "metering/event_export.h"
#include "metering/export_output.h"
#include "metering/held_counts.h"
#include "metering/usage_export.h"
#include "store/store_address.h"

namespace tollgate {
namespace json = boost::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  auto it = v.as_object().find(key);
  if (it == v.as_object().end()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_bool()) return it->value().as_bool() ? "true" : "false";
  if (it->value().is_double()) return fmt::format("{:g}", it->value().as_double());
  return json::serialize(it->value());
}

std::string body(const json::object& o) { return json::serialize(o); }

std::string patch(std::initializer_list<std::tuple<const char*, std::string, std::string>> ops) {
  json::array list;
  for (const auto& [op, path, value] : ops) {
    json::object o{{"op", op}, {"path", path}};
    if (!value.empty()) o["value"] = value;
    list.push_back(std::move(o));
  }
  return body(json::object{{"patchOperations", std::move(list)}});
}

// Every page of a listing, following `position`.
json::array all_items(AdminClient& client, const std::string& path, std::string query) {
  json::array items;
  std::string position;
  do {
    std::string target = path + "?limit=500" + query;
    if (!position.empty()) target += "&position=" + percent_encode(position);
    const json::value page = client.call(http::verb::get, target);
    if (auto* list = page.as_object().if_contains("item"))
      for (const auto& item : list->as_array()) items.push_back(item);
    position = str(page, "position");
  } while (!position.empty());
  return items;
}

void print_json(const json::value& v) { std::cout << json::serialize(v) << '\n'; }

void print_keys(const ClientCommands& c, const json::array& keys) {
  if (c.output == "json") return print_json(keys);
  Table t({"ID", "NAME", "CUSTOMER", "ENABLED", "VALUE"});
  for (const auto& k : keys)
    t.add({str(k, "id"), str(k, "name"), str(k, "customerId"), str(k, "enabled"), str(k, "value")});
  t.print(std::cout);
}

std::string describe_throttle(const json::value& p) {
  const json::value* t = p.as_object().if_contains("throttle");
  if (!t) return "-";
  return str(*t, "rateLimit") + "/s burst " + str(*t, "burstLimit");
}

std::string describe_quota(const json::value& p) {
  const json::value* q = p.as_object().if_contains("quota");
  if (!q) return "-";
  return str(*q, "limit") + "/" + str(*q, "period") +
         (str(*q, "offset") != "0" ? " offset " + str(*q, "offset") : "");
}

void print_plans(const ClientCommands& c, const json::array& plans) {
  if (c.output == "json") return print_json(plans);
  Table t({"ID", "NAME", "THROTTLE", "QUOTA", "STAGES"});
  for (const auto& p : plans) {
    std::string stages;
    for (const auto& s : p.at("apiStages").as_array())
      stages += (stages.empty() ? "" : ",") + str(s, "apiId") + ":" + str(s, "stage");
    t.add({str(p, "id"), str(p, "name"), describe_throttle(p), describe_quota(p),
           stages.empty() ? "-" : stages});
  }
  t.print(std::cout);
}

void add_keys(CLI::App& app, ClientCommands& c) {
  auto* keys = app.add_subcommand("keys", "Manage API keys")->require_subcommand(1);

  auto* create = keys->add_subcommand("create", "Create an API key (enabled unless --disabled)");
  auto name = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto customer = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  auto disabled = std::make_shared<bool>(false);
  create->add_option("--name", *name, "Key name")->required();
  create->add_option("--value", *value, "Key value (20-128 characters); generated when absent");
  create->add_option("--customer-id", *customer, "Your customer's id, for billing");
  create->add_option("--description", *description);
  create->add_flag("--disabled", *disabled, "Create it disabled");
  create->callback([&c, name, value, customer, description, disabled] {
    c.run = [&c, name, value, customer, description, disabled] {
      AdminClient client = connect(c);
      json::object o{{"name", *name}, {"enabled", !*disabled}};
      if (!value->empty()) o["value"] = *value;
      if (!customer->empty()) o["customerId"] = *customer;
      if (!description->empty()) o["description"] = *description;
      print_keys(c, json::array{client.call(http::verb::post, "/apikeys", body(o))});
      return 0;
    };
  });

  auto* list = keys->add_subcommand("list", "List API keys");
  auto prefix = std::make_shared<std::string>();
  auto list_customer = std::make_shared<std::string>();
  auto values = std::make_shared<bool>(false);
  list->add_option("--name-prefix", *prefix, "Only keys whose name starts with this");
  list->add_option("--customer-id", *list_customer, "Only this customer's keys");
  list->add_flag("--show-values", *values, "Include key values");
  list->callback([&c, prefix, list_customer, values] {
    c.run = [&c, prefix, list_customer, values] {
      AdminClient client = connect(c);
      std::string q;
      if (!prefix->empty()) q += "&name=" + percent_encode(*prefix);
      if (!list_customer->empty()) q += "&customerId=" + percent_encode(*list_customer);
      if (*values) q += "&includeValues=true";
      print_keys(c, all_items(client, "/apikeys", q));
      return 0;
    };
  });

  auto* get = keys->add_subcommand("get", "Show one API key");
  auto get_id = std::make_shared<std::string>();
  auto get_value = std::make_shared<bool>(false);
  get->add_option("id", *get_id, "Key id")->required();
  get->add_flag("--show-value", *get_value, "Include the key value");
  get->callback([&c, get_id, get_value] {
    c.run = [&c, get_id, get_value] {
      AdminClient client = connect(c);
      const std::string q = *get_value ? "?includeValue=true" : "";
      print_keys(
          c, json::array{client.call(http::verb::get, "/apikeys/" + percent_encode(*get_id) + q)});
      return 0;
    };
  });

  for (const auto& [verb, enabled] : {std::pair{"enable", true}, std::pair{"disable", false}}) {
    auto* cmd = keys->add_subcommand(verb, enabled ? "Enable an API key" : "Disable an API key");
    auto id = std::make_shared<std::string>();
    cmd->add_option("id", *id, "Key id")->required();
    cmd->callback([&c, id, on = enabled] {
      c.run = [&c, id, on] {
        AdminClient client = connect(c);
        print_keys(
            c, json::array{client.call(http::verb::patch, "/apikeys/" + percent_encode(*id),
                                       patch({{"replace", "/enabled", on ? "true" : "false"}}))});
        return 0;
      };
    });
  }

  auto* del = keys->add_subcommand("delete", "Delete an API key (it leaves its usage plans)");
  auto del_id = std::make_shared<std::string>();
  del->add_option("id", *del_id, "Key id")->required();
  del->callback([&c, del_id] {
    c.run = [&c, del_id] {
      connect(c).call(http::verb::delete_, "/apikeys/" + percent_encode(*del_id));
      std::cout << "deleted api key " << *del_id << '\n';
      return 0;
    };
  });

  auto* import = keys->add_subcommand(
      "import", "Import API keys from a CSV file (Name,Key[,Description,Enabled,UsagePlanIds])");
  auto file = std::make_shared<std::string>();
  auto strict = std::make_shared<bool>(false);
  import->add_option("file", *file, "CSV file")->required()->check(CLI::ExistingFile);
  import->add_flag("--fail-on-warnings", *strict, "Import nothing if any row is refused");
  import->callback([&c, file, strict] {
    c.run = [&c, file, strict] {
      std::ifstream in(*file, std::ios::binary);
  std::stringstream csv;
  csv << in.rdbuf();
  AdminClient client = connect(c);
  const json::value result = client.call(
      http::verb::post,
      std::string("/apikeys?mode=import&format=csv") + (*strict ? "&failonwarnings=true" : ""),
      csv.str(), "text/csv");
  if (c.output == "json") {
    print_json(result);
    return 0;
  }
  std::cout << "imported " << result.at("ids").as_array().size() << " key(s)\n";
  if (auto* warnings = result.as_object().if_contains("warnings"))
    for (const auto& w : warnings->as_array())
      std::cout << "warning: " << w.as_string().c_str() << '\n';
  return 0;
};
}  // namespace
);
}  // namespace tollgate

void add_plans(CLI::App& app, ClientCommands& c) {
  auto* plans = app.add_subcommand("plans", "Manage usage plans")->require_subcommand(1);

  auto* create = plans->add_subcommand("create", "Create a usage plan");
  struct Spec {
    std::string name, description, period = "MONTH";
    double rate = -1;
    std::int64_t burst = -1, quota = -1, offset = 0;
    std::vector<std::string> stages;
  };
  auto spec = std::make_shared<Spec>();
  create->add_option("--name", spec->name)->required();
  create->add_option("--description", spec->description);
  create->add_option("--rate", spec->rate, "Throttle: requests per second per key");
  create->add_option("--burst", spec->burst, "Throttle: burst per key");
  create->add_option("--quota", spec->quota, "Quota: requests per period per key");
  create->add_option("--period", spec->period, "Quota period")
      ->check(CLI::IsMember({"DAY", "WEEK", "MONTH"}));
  create->add_option("--offset", spec->offset, "Quota: requests taken off the first period");
  create->add_option("--stage", spec->stages, "API:STAGE the plan covers (repeatable)");
  create->callback([&c, spec] {
    c.run = [&c, spec] {
      json::object o{{"name", spec->name}};
      if (!spec->description.empty()) o["description"] = spec->description;
      if (spec->rate >= 0 || spec->burst >= 0)
        o["throttle"] = json::object{
            {"rateLimit", spec->rate >= 0 ? spec->rate : static_cast<double>(spec->burst)},
            {"burstLimit",
             spec->burst >= 0
                 ? spec->burst
                 : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(spec->rate)))}};
      if (spec->quota >= 0)
        o["quota"] = json::object{
            {"limit", spec->quota}, {"offset", spec->offset}, {"period", spec->period}};
      json::array stages;
      for (const auto& s : spec->stages) {
        const std::size_t colon = s.find(':');
        if (colon == std::string::npos)
          throw std::invalid_argument("--stage '" + s + "' must be API:STAGE");
        stages.push_back(
            json::object{{"apiId", s.substr(0, colon)}, {"stage", s.substr(colon + 1)}});
      }
      o["apiStages"] = std::move(stages);
      print_plans(c, json::array{connect(c).call(http::verb::post, "/usageplans", body(o))});
      return 0;
    };
  });

  auto* list = plans->add_subcommand("list", "List usage plans");
  auto key = std::make_shared<std::string>();
  list->add_option("--key", *key, "Only plans holding this key id");
  list->callback([&c, key] {
    c.run = [&c, key] {
      AdminClient client = connect(c);
      print_plans(c, all_items(client, "/usageplans",
                               key->empty() ? "" : "&keyId=" + percent_encode(*key)));
      return 0;
    };
  });

  auto* get = plans->add_subcommand("get", "Show a usage plan and its keys");
  auto get_id = std::make_shared<std::string>();
  get->add_option("id", *get_id, "Plan id")->required();
  get->callback([&c, get_id] {
    c.run = [&c, get_id] {
      AdminClient client = connect(c);
      const json::value plan =
          client.call(http::verb::get, "/usageplans/" + percent_encode(*get_id));
      const json::array keys =
          all_items(client, "/usageplans/" + percent_encode(*get_id) + "/keys", "");
      if (c.output == "json") {
        json::object o = plan.as_object();
        o["keys"] = keys;
        print_json(o);
        return 0;
      }
      print_plans(c, json::array{plan});
      std::cout << '\n';
      Table t({"KEY ID", "KEY NAME"});
      for (const auto& k : keys) t.add({str(k, "id"), str(k, "name")});
      t.print(std::cout);
      return 0;
    };
  });

  auto* attach = plans->add_subcommand("attach-stage", "Let a plan cover API:STAGE");
  auto attach_plan = std::make_shared<std::string>();
  auto attach_stage = std::make_shared<std::string>();
  attach->add_option("plan", *attach_plan, "Plan id")->required();
  attach->add_option("stage", *attach_stage, "API:STAGE")->required();
  attach->callback([&c, attach_plan, attach_stage] {
    c.run = [&c, attach_plan, attach_stage] {
      print_plans(c, json::array{connect(c).call(http::verb::patch,
                                                 "/usageplans/" + percent_encode(*attach_plan),
                                                 patch({{"add", "/apiStages", *attach_stage}}))});
      return 0;
    };
  });

  auto* add_key = plans->add_subcommand("add-key", "Put an API key in a plan");
  auto* remove_key = plans->add_subcommand("remove-key", "Take an API key out of a plan");
  for (auto* cmd : {add_key, remove_key}) {
    auto plan = std::make_shared<std::string>();
    auto key_id = std::make_shared<std::string>();
    cmd->add_option("plan", *plan, "Plan id")->required();
    cmd->add_option("key", *key_id, "Key id")->required();
    const bool adding = cmd == add_key;
    cmd->callback([&c, plan, key_id, adding] {
      c.run = [&c, plan, key_id, adding] {
        AdminClient client = connect(c);
        const std::string path = "/usageplans/" + percent_encode(*plan) + "/keys";
        if (adding)
          client.call(http::verb::post, path,
                      body(json::object{{"keyId", *key_id}, {"keyType", "API_KEY"}}));
        else
          client.call(http::verb::delete_, path + "/" + percent_encode(*key_id));
        std::cout << (adding ? "added key " : "removed key ") << *key_id
                  << (adding ? " to plan " : " from plan ") << *plan << '\n';
        return 0;
      };
    });
  }

  auto* del =
      plans->add_subcommand("delete", "Delete a usage plan (--force detaches its stages first)");
  auto del_id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  del->add_option("id", *del_id, "Plan id")->required();
  del->add_flag("--force", *force, "Detach every stage, then delete");
  del->callback([&c, del_id, force] {
    c.run = [&c, del_id, force] {
      AdminClient client = connect(c);
      const std::string path = "/usageplans/" + percent_encode(*del_id);
      if (*force) {
        const json::value plan = client.call(http::verb::get, path);
        for (const auto& s : plan.at("apiStages").as_array())
          client.call(http::verb::patch, path,
                      patch({{"remove", "/apiStages", str(s, "apiId") + ":" + str(s, "stage")}}));
      }
      client.call(http::verb::delete_, path);
      std::cout << "deleted usage plan " << *del_id << '\n';
      return 0;
    };
  });
}

// `usage export`: billing records straight from the store.
CLI::App* add_usage_export(CLI::App& usage, ClientCommands& c) {
  auto* cmd = usage.add_subcommand("export",
                                   "Write the usage of closed days from the store, one record per "
                                   "key, plan and customer per day, "
                                   "for billing");
  struct Spec {
    std::string data_dir, store, from, to, format = "csv", after, event_name = "api_requests", file;
    std::vector<std::string> access_logs;
    bool events = false;
    bool open = false;
  };
  auto spec = std::make_shared<Spec>();
  cmd->add_option("--data-dir", spec->data_dir,
                  "The server's data directory (env TOLLGATE_DATA_DIR)");
  cmd->add_option(
      "--store", spec->store,
      "sqlite (the data directory's, the default), sqlite:DIR or redis://HOST:PORT[/DB]");
  cmd->add_option("--from", spec->from, "First day, yyyy-MM-dd (UTC)")->required();
  cmd->add_option("--to", spec->to, "Last day, yyyy-MM-dd (UTC)")->required();
  cmd->add_option("--format", spec->format, "csv, jsonl, cloudevents (OpenMeter), lago or stripe")
      ->check(CLI::IsMember({"csv", "jsonl", "cloudevents", "lago", "stripe"}));
  cmd->add_option("--after", spec->after,
                  "Resume after this cursor (printed by the previous export)");
  cmd->add_option("--event-name", spec->event_name, "Event type / Lago code / Stripe event name")
      ->capture_default_str();
  cmd->add_option("-o,--out", spec->file,
                  "Write to this file (whole or not at all) instead of stdout");
  cmd->add_flag(
      "--open", spec->open,
      "Also write the days still open (today, or one a node has not written whole), as provisional "
      "records whose ids no final record has");
  cmd->add_flag("--events", spec->events,
                "One record per billable request (id: the request id), read from the access log");
  cmd->add_option(
      "--access-log", spec->access_logs,
      "With --events: the access log (default DATA_DIR/access.log); give it again for each rotated "
      "file, oldest first");
  cmd->callback([&c, spec] {
    c.run = [&c, spec] {
      const auto first = parse_date(spec->from);
      const auto last = parse_date(spec->to);
      if (!first || !last || *first > *last)
        throw std::invalid_argument("--from and --to take dates as yyyy-MM-dd, --from first");
      std::string dir = spec->data_dir.empty() ? env("TOLLGATE_DATA_DIR") : spec->data_dir;
      if (dir.empty()) dir = "tollgate-data";
      const StoreAddress address = StoreAddress::parse(spec->store, dir);
      const bool sqlite = !address.on_redis;
      if (sqlite && !holds_sqlite_store(address.sqlite_dir))
        throw std::invalid_argument("no tollgate store in " + address.sqlite_dir.string() +
                                    " (use --data-dir, or --store for Redis)");
      ExportOptions options{*first, *last, *export_format_from(spec->format), spec->after,
                            spec->event_name};
      ExportOutput output(spec->file);
      ExportResult r;
      std::string open_note;
      if (spec->events) {
        std::vector<std::string> paths = spec->access_logs;
        if (paths.empty()) paths.push_back(dir + "/access.log");
        std::vector<std::ifstream> logs;
        logs.reserve(paths.size());  // the streams point into it
        std::vector<std::istream*> streams;
        for (const std::string& path : paths) {
          if (!logs.emplace_back(path))
            throw std::invalid_argument("cannot read the access log " + path);
          streams.push_back(&logs.back());
        }
        r = export_events(streams, options, output.stream());
        for (std::size_t i = 0; i < logs.size(); ++i)
          if (logs[i].bad()) throw std::runtime_error("cannot read the access log " + paths[i]);
        if (!r.cursor_found)
          throw std::invalid_argument(
              "cursor '" + spec->after + "' is in none of the access logs read (" +
              fmt::format("{}", fmt::join(paths, ", ")) +
              "): give the rotated file that holds it first, with --access-log");
      } else {
        const std::unique_ptr<Store> store = open_store(address, "cli");
        // Beside a node on SQLite, days its counter file holds for want of
        // a writable store are open too.
        const std::optional<std::int64_t> held =
            sqlite ? HeldCounts::earliest_day(std::filesystem::path(dir) / "counters" / "held")
                   : std::nullopt;
        const ClosedDays closed = closed_days(store->meter_progress(), SystemClock().now(), held);
        options.first_open_day = closed.first_open_day;
        options.include_open = spec->open;
        r = export_usage(*store, options, output.stream());
        if (closed.first_open_day <= *last)
          open_note = "; " + format_date(std::max(closed.first_open_day, *first)) + " to " +
                      format_date(*last) +
                      (spec->open ? " written as provisional (" + std::to_string(r.provisional) +
                                        " record(s))"
                                  : " not written") +
                      ": open, since " + closed.why_open;
      }
      output.commit();
      std::cerr << "exported " << r.records << " record(s)" << open_note
                << (r.cursor.empty() ? std::string() : "; resume with --after " + r.cursor) << '\n';
      return 0;
    };
  });
  return cmd;
}

// The plan's current quota period up to today (UTC), as yyyy-MM-dd dates;
// for a plan without a quota, the current month up to today.
void current_period(AdminClient& client, const std::string& plan_id, std::string& from,
                    std::string& to) {
  const json::value plan = client.call(http::verb::get, "/usageplans/" + percent_encode(plan_id));
  QuotaPeriod period = QuotaPeriod::kMonth;
  if (const json::value* quota = plan.as_object().if_contains("quota"))
    period = quota_period_from(str(*quota, "period")).value_or(QuotaPeriod::kMonth);
  const std::int64_t now_s = SystemClock().now() / kNanosPerSecond;
  from = format_date(quota_window(period, now_s).first_day);
  to = format_date(day_of_unix_seconds(now_s));
}

void add_usage(CLI::App& app, ClientCommands& c) {
  auto* usage =
      app.add_subcommand("usage", "Show requests served per key per day, and quota remaining");
  struct Spec {
    std::string plan, key, from, to, format = "table";
  };
  auto spec = std::make_shared<Spec>();
  usage->add_option("--plan", spec->plan, "Usage plan id (required)");
  usage->add_option("--key", spec->key, "Only this key id");
  usage->add_option(
      "--from", spec->from,
      "First day, yyyy-MM-dd (UTC); without --from and --to, the current quota period");
  usage->add_option("--to", spec->to, "Last day, yyyy-MM-dd (UTC)");
  usage->add_option("--format", spec->format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  CLI::App* export_cmd = add_usage_export(*usage, c);
  usage->callback([&c, spec, export_cmd] {
    if (export_cmd->parsed()) return;
    if (spec->plan.empty())
      throw CLI::ValidationError("usage", "needs --plan (or use: usage export)");
    if (spec->from.empty() != spec->to.empty())
      throw CLI::ValidationError(
          "usage", "give both --from and --to, or neither for the current quota period");
    c.run = [&c, spec] {
      AdminClient client = connect(c);
      if (spec->from.empty()) current_period(client, spec->plan, spec->from, spec->to);
      const auto first = parse_date(spec->from);
      const auto last = parse_date(spec->to);
      if (!first || !last) throw std::invalid_argument("--from and --to take dates as yyyy-MM-dd");
      std::string base = "/usageplans/" + percent_encode(spec->plan) +
                         "/usage?startDate=" + spec->from + "&endDate=" + spec->to + "&limit=500";
      if (!spec->key.empty()) base += "&keyId=" + percent_encode(spec->key);
      json::object merged;
      std::string position;
      do {
        const json::value page =
            client.call(http::verb::get,
                        base + (position.empty() ? "" : "&position=" + percent_encode(position)));
        for (const auto& [k, v] : page.at("values").as_object()) merged[k] = v;
        position = str(page, "position");
      } while (!position.empty());
      const std::string format = c.output == "json" ? "json" : spec->format;
      if (format == "json") {
        print_json(json::object{{"usagePlanId", spec->plan},
                                {"startDate", spec->from},
                                {"endDate", spec->to},
                                {"values", merged}});
        return 0;
      }
      Table table({"KEY ID", "DATE", "USED", "REMAINING"});
      if (format == "csv") std::cout << "key_id,date,used,remaining\n";
      for (const auto& [key_id, days] : merged) {
        std::int64_t day = *first;
        for (const auto& pair : days.as_array()) {
          const auto& p = pair.as_array();
          const std::vector<std::string> row{std::string(key_id), format_date(day++),
                                             json::serialize(p.at(0)), json::serialize(p.at(1))};
          if (format == "csv")
            std::cout << row[0] << ',' << row[1] << ',' << row[2] << ',' << row[3] << '\n';
          else
            table.add(row);
        }
      }
      if (format == "table") table.print(std::cout);
      return 0;
    };
  });
}

}  // namespace

AdminClient connect(const ClientCommands& c) {
  std::string endpoint = c.endpoint;
  if (endpoint.empty()) endpoint = env("TOLLGATE_ENDPOINT");
  if (endpoint.empty()) endpoint = "http://127.0.0.1:9180";
  AdminCredentials creds{c.access_key_id, c.secret_access_key};
  if (creds.access_key_id.empty())
    creds = {env("TOLLGATE_ADMIN_ACCESS_KEY_ID"), env("TOLLGATE_ADMIN_SECRET_ACCESS_KEY")};
  if (creds.access_key_id.empty()) creds = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")};
  if (creds.access_key_id.empty()) {
    const std::string dir =
        c.data_dir.empty()
            ? (env("TOLLGATE_DATA_DIR").empty() ? "tollgate-data" : env("TOLLGATE_DATA_DIR"))
            : c.data_dir;
    if (auto file = read_credentials_file(std::filesystem::path(dir) / "admin-credentials"))
      creds = *file;
  }
  if (creds.access_key_id.empty() || creds.secret_access_key.empty())
    throw std::invalid_argument(
        "no admin credentials: pass --access-key-id/--secret-access-key, set "
        "TOLLGATE_ADMIN_ACCESS_KEY_ID/TOLLGATE_ADMIN_SECRET_ACCESS_KEY, or point --data-dir at the "
        "server's data directory");
  std::string ca_file = c.ca_file;
  if (ca_file.empty()) ca_file = env("TOLLGATE_CA_FILE");
  return AdminClient(endpoint, creds, ca_file);
}

void add_client_commands(CLI::App& app, ClientCommands& c) {
  add_keys(app, c);
  add_plans(app, c);
  add_usage(app, c);
  add_api_commands(app, c);
  for (auto* sub : app.get_subcommands([](CLI::App* s) {
         const std::string n = s->get_name();
         return n == "keys" || n == "plans" || n == "usage" || n == "apis";
       })) {
    sub->add_option("--endpoint", c.endpoint,
                    "Admin API URL (env TOLLGATE_ENDPOINT; default http://127.0.0.1:9180)");
    sub->add_option("--ca-file", c.ca_file,
                    "PEM CA certificates to trust for an https endpoint (env TOLLGATE_CA_FILE)");
    sub->add_option("--access-key-id", c.access_key_id,
                    "Admin access key id (env TOLLGATE_ADMIN_ACCESS_KEY_ID)");
    sub->add_option("--secret-access-key", c.secret_access_key,
                    "Admin secret (env TOLLGATE_ADMIN_SECRET_ACCESS_KEY)");
    sub->add_option("--data-dir", c.data_dir,
                    "Read credentials from this server data dir's admin-credentials");
    sub->add_option("--output", c.output, "table or json")->check(CLI::IsMember({"table", "json"}));
    // Let `tollgate keys create --endpoint ...` reach the options above.
    for (auto* leaf : sub->get_subcommands({})) leaf->fallthrough();
  }
}

}  // namespace tollgate
