// `yun admin`: tenants, API keys, usage and the audit log, straight on the
// state store (SQLite under --state-dir, or PostgreSQL with --db URL), for
// an operator at a shell. Every mutating command writes an audit entry with
// actor "cli". Bad input: one line on stderr, exit 2; a store that cannot be
// opened or fails: exit_code_for(status).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/tenancy/admin.h"
#include "yun/tenancy/json_codec.h"
#include "yun/tenancy/store.h"

namespace yun::cli {
namespace {

using namespace yun::tenancy;
using json = nlohmann::ordered_json;

constexpr const char* kHelp = R"(Usage: yun admin (--state-dir DIR | --db URL) <command> [options]
Manage tenants, API keys and usage in yun's state store: SQLite (DIR/yun.db)
or PostgreSQL (--db postgres://user@host/db).

  tenant create NAME [limits]  create a tenant; prints it as JSON
      --rpm N                  requests per minute     --tpm N   tokens per minute
      --max-concurrent N       requests at once        --max-tokens N  cap on max_tokens
      --budget N               tokens per --budget-period day|month|total (default total)
      --models a,b             allowed models (default: all)
      --weight W               fair-share weight (> 0, default 1)
      --priority P             higher runs first (default 0)
      --share-prefix-cache     share prefix-cache entries with other tenants
  tenant list                  every tenant, as a table
  key create TENANT            a new key for a tenant (its name or id); prints the key once
      --scope inference|admin  (default inference)   --name TEXT   --expires-days N
  key list [TENANT]            keys: id, prefix, scope, state (never secrets)
  key revoke KEY_ID            revoke a key
  usage                        aggregated usage per tenant and model
      --tenant T  --group-by day|hour|key  --since YYYY-MM-DD  --format table|json|csv
  audit [--limit N]            the latest admin actions (default 50), newest first
)";

const std::set<std::string> kValueFlags = {
    "--state-dir",     "--db",           "--rpm",    "--tpm",      "--max-concurrent", "--budget",
    "--budget-period", "--max-tokens",   "--models", "--weight",   "--priority",       "--scope",
    "--name",          "--expires-days", "--tenant", "--group-by", "--since",          "--format",
    "--limit"};
const std::set<std::string> kBoolFlags = {"--share-prefix-cache", "--help", "-h"};

int report(const Status& s) { return fail(exit_code_for(s), s.message()); }

// Flags other than these (and the store's) are a usage error for `what`.
Status only_flags(const Args& args, const std::string& what, std::set<std::string> allowed) {
  allowed.insert({"--state-dir", "--db"});
  for (const auto* set : {&kValueFlags, &kBoolFlags}) {
    for (const auto& f : *set) {
      if (args.has(f) && !allowed.count(f)) {
        return invalid_argument(f + " does not apply to 'yun admin " + what + "'");
      }
    }
  }
  return Status::ok();
}

Status positional_count(const Args& args, size_t lo, size_t hi, const std::string& usage) {
  size_t n = args.positional().size();
  if (n < lo || n > hi) return invalid_argument("usage: yun admin " + usage);
  return Status::ok();
}

// A positive (or >= lo) integer flag, unset when absent.
Result<std::optional<int64_t>> opt_int(const Args& args, const std::string& flag, int64_t lo) {
  if (!args.has(flag)) return std::optional<int64_t>();
  YUN_ASSIGN_OR_RETURN(int64_t v, args.get_int(flag, 0));
  if (v < lo) return invalid_argument(flag + " must be at least " + std::to_string(lo));
  return std::optional<int64_t>(v);
}

// A tenant by id or name.
Result<Tenant> resolve_tenant(Store& store, const std::string& ref) {
  YUN_ASSIGN_OR_RETURN(auto t, find_tenant(store, ref));
  if (!t) return not_found("no tenant '" + ref + "'");
  return *t;
}

// A validation error of admin.h names a field; on the command line, the flag.
Status with_flag(const Status& s) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"limits.requests_per_minute", "--rpm"}, {"limits.tokens_per_minute", "--tpm"},
      {"limits.max_concurrent", "--max-concurrent"}, {"limits.token_budget", "--budget"},
      {"limits.max_tokens", "--max-tokens"}, {"weight", "--weight"}, {"priority", "--priority"},
      {"models", "--models"}};
  if (s.code() != StatusCode::kInvalidArgument) return s;
  for (auto [field, flag] : kFlags) {
    if (s.message().rfind(field, 0) == 0) return invalid_argument(std::string(flag) + ": " + s.message());
  }
  return s;
}

std::string dump(const json& j, int indent = 2) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// Left-aligned columns, two spaces apart.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    w[c] = header[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) {
      out += r[c];
      if (c + 1 < r.size()) out += std::string(w[c] - r[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string opt_text(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string utc_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int tenant_create(Store& store, const Args& args) {
  if (Status s = only_flags(
          args, "tenant create",
          {"--rpm", "--tpm", "--max-concurrent", "--budget", "--budget-period", "--max-tokens",
           "--models", "--weight", "--priority", "--share-prefix-cache"});
      !s.is_ok())
    return report(s);
  if (Status s = positional_count(args, 3, 3, "tenant create NAME [options]"); !s.is_ok())
    return report(s);
  Tenant t;
  t.name = args.positional()[2];
  struct IntLimit {
    const char* flag;
    std::optional<int64_t>* out;
    int64_t lo;
  };
  for (const IntLimit& l : {IntLimit{"--rpm", &t.limits.requests_per_minute, 1},
                            IntLimit{"--tpm", &t.limits.tokens_per_minute, 1},
                            IntLimit{"--max-concurrent", &t.limits.max_concurrent, 1},
                            IntLimit{"--budget", &t.limits.token_budget, 0},
                            IntLimit{"--max-tokens", &t.limits.max_tokens, 1}}) {
    auto v = opt_int(args, l.flag, l.lo);
    if (!v.is_ok()) return report(v.status());
    *l.out = *v;
  }
  if (auto p = args.get("--budget-period")) {
    auto bp = parse_budget_period(*p);
    if (!bp) return fail(2, "--budget-period must be day, month or total, got '" + *p + "'");
    if (!t.limits.token_budget) return fail(2, "--budget-period needs --budget");
    t.limits.budget_period = *bp;
  }
  if (auto m = args.get("--models")) {
    size_t start = 0;
    while (start <= m->size()) {
      size_t comma = std::min(m->find(',', start), m->size());
      std::string name = m->substr(start, comma - start);
      if (!name.empty()) t.models.push_back(name);
      start = comma + 1;
    }
    if (t.models.empty()) return fail(2, "--models needs at least one model name");
  }
  auto weight = args.get_double("--weight", 1.0);
  if (!weight.is_ok()) return report(weight.status());
  t.weight = *weight;
  auto prio = args.get_int("--priority", 0);
  if (!prio.is_ok()) return report(prio.status());
  if (*prio < INT32_MIN || *prio > INT32_MAX) return fail(2, "--priority is out of range");
  t.priority = static_cast<int32_t>(*prio);
  t.share_prefix_cache = args.has("--share-prefix-cache");
  auto made = create_tenant(store, t, "cli");
  if (!made.is_ok()) return report(with_flag(made.status()));
  std::cout << dump(tenant_to_json(*made)) << "\n";
  return 0;
}

int tenant_list(Store& store, const Args& args) {
  if (Status s = only_flags(args, "tenant list", {"--format"}); !s.is_ok()) return report(s);
  if (Status s = positional_count(args, 2, 2, "tenant list"); !s.is_ok()) return report(s);
  auto tenants = store.list_tenants();
  if (!tenants.is_ok()) return report(tenants.status());
  std::string format = args.get_string("--format", "table");
  if (format == "json") {
    json arr = json::array();
    for (const auto& t : *tenants) arr.push_back(tenant_to_json(t));
    std::cout << dump(arr) << "\n";
    return 0;
  }
  if (format != "table") return fail(2, "--format for tenant list is table or json");
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : *tenants) {
    std::string models;
    for (const auto& m : t.models) models += (models.empty() ? "" : ",") + m;
    std::string budget = t.limits.token_budget ? std::to_string(*t.limits.token_budget) + "/" +
                                                     budget_period_name(t.limits.budget_period)
                                               : "-";
    rows.push_back({t.id, t.name, t.active ? "active" : "suspended",
                    opt_text(t.limits.requests_per_minute), opt_text(t.limits.tokens_per_minute),
                    budget, models.empty() ? "*" : models});
  }
  print_table({"ID", "NAME", "STATE", "RPM", "TPM", "BUDGET", "MODELS"}, rows);
  return 0;
}

int key_create(Store& store, const Args& args) {
  if (Status s = only_flags(args, "key create", {"--scope", "--name", "--expires-days"});
      !s.is_ok())
    return report(s);
  if (Status s = positional_count(args, 3, 3, "key create TENANT [options]"); !s.is_ok())
    return report(s);
  auto scope = parse_key_scope(args.get_string("--scope", "inference"));
  if (!scope) return fail(2, "--scope must be inference or admin");
  auto days = opt_int(args, "--expires-days", 1);
  if (!days.is_ok()) return report(days.status());
  if (*days && **days > 36500) return fail(2, "--expires-days is at most 36500");
  int64_t expires = *days ? unix_ms_now() + **days * 86'400'000 : 0;
  auto k = create_key(store, args.positional()[2], *scope, args.get_string("--name", ""), expires,
                      "cli");
  if (!k.is_ok()) return report(k.status());
  std::cout << "id:  " << k->key.id << "\nkey: " << k->secret << "\n";
  std::cerr << "yun: the key is shown only this once; store it now\n";
  return 0;
}

int key_list(Store& store, const Args& args) {
  if (Status s = only_flags(args, "key list", {"--format"}); !s.is_ok()) return report(s);
  if (Status s = positional_count(args, 2, 3, "key list [TENANT]"); !s.is_ok()) return report(s);
  std::string tenant_id;
  if (args.positional().size() == 3) {
    auto t = resolve_tenant(store, args.positional()[2]);
    if (!t.is_ok()) return report(t.status());
    tenant_id = t->id;
  }
  auto keys = store.list_keys(tenant_id);
  if (!keys.is_ok()) return report(keys.status());
  int64_t now = unix_ms_now();
  std::string format = args.get_string("--format", "table");
  if (format == "json") {
    json arr = json::array();
    for (const auto& k : *keys) arr.push_back(key_to_json(k, now));
    std::cout << dump(arr) << "\n";
    return 0;
  }
  if (format != "table") return fail(2, "--format for key list is table or json");
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : *keys) {
    rows.push_back({k.id, k.tenant_id, k.prefix, key_scope_name(k.scope), key_state(k, now),
                    k.expires_ms ? utc_time(k.expires_ms) : "-", k.name});
  }
  print_table({"ID", "TENANT", "PREFIX", "SCOPE", "STATE", "EXPIRES", "NAME"}, rows);
  return 0;
}

int key_revoke(Store& store, const Args& args) {
  if (Status s = only_flags(args, "key revoke", {}); !s.is_ok()) return report(s);
  if (Status s = positional_count(args, 3, 3, "key revoke KEY_ID"); !s.is_ok()) return report(s);
  const std::string& id = args.positional()[2];
  if (Status s = revoke_key(store, id, "cli"); !s.is_ok()) return report(s);
  std::cout << "revoked " << id << "\n";
  return 0;
}

int usage(Store& store, const Args& args) {
  if (Status s = only_flags(args, "usage", {"--tenant", "--group-by", "--since", "--format"});
      !s.is_ok())
    return report(s);
  if (Status s = positional_count(args, 1, 1, "usage [options]"); !s.is_ok()) return report(s);
  UsageQuery q;
  std::string group = args.get_string("--group-by", "");
  if (group == "day")
    q.bucket = UsageQuery::kDay;
  else if (group == "hour")
    q.bucket = UsageQuery::kHour;
  else if (group == "key")
    q.by_key = true;
  else if (!group.empty())
    return fail(2, "--group-by must be day, hour or key");
  std::string format = args.get_string("--format", "table");
  if (format != "table" && format != "json" && format != "csv") {
    return fail(2, "--format must be table, json or csv");
  }
  if (auto since = args.get("--since")) {
    auto from = parse_utc_day(*since);
    if (!from) return fail(2, "--since needs a real date YYYY-MM-DD, got '" + *since + "'");
    q.from_ms = *from;
  }
  if (auto t = args.get("--tenant")) {
    auto tenant = resolve_tenant(store, *t);
    if (!tenant.is_ok()) return report(tenant.status());
    q.tenant_id = tenant->id;
  }
  auto rows = store.query_usage(q);
  if (!rows.is_ok()) return report(rows.status());
  if (format == "json") {
    json arr = json::array();
    for (const auto& r : *rows) arr.push_back(usage_row_to_json(r, q));
    std::cout << dump(arr) << "\n";
    return 0;
  }
  std::vector<std::string> header = {"TENANT", "MODEL"};
  if (q.by_key) header.push_back("KEY");
  if (q.bucket != UsageQuery::kNone)
    header.push_back(q.bucket == UsageQuery::kDay ? "DAY" : "HOUR");
  for (const char* h : {"REQUESTS", "PROMPT", "CACHED", "COMPLETION", "TOTAL"}) header.push_back(h);
  std::vector<std::vector<std::string>> table;
  for (const auto& r : *rows) {
    std::vector<std::string> row = {r.tenant_id, r.model};
    if (q.by_key) row.push_back(r.key_id);
    if (q.bucket != UsageQuery::kNone) row.push_back(r.period);
    for (int64_t v : {r.requests, r.prompt_tokens, r.cached_prompt_tokens, r.completion_tokens,
                      r.prompt_tokens + r.completion_tokens}) {
      row.push_back(std::to_string(v));
    }
    table.push_back(std::move(row));
  }
  if (format == "csv") {
    auto line = [](const std::vector<std::string>& r) {
      std::string out;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) out += ',';
        out += csv_field(r[i]);
      }
      std::cout << out << "\n";
    };
    std::vector<std::string> lower;
    for (auto h : header) {
      std::transform(h.begin(), h.end(), h.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      lower.push_back(h);
    }
    line(lower);
    for (const auto& r : table) line(r);
    return 0;
  }
  print_table(header, table);
  return 0;
}

int audit_list(Store& store, const Args& args) {
  if (Status s = only_flags(args, "audit", {"--limit", "--format"}); !s.is_ok()) return report(s);
  if (Status s = positional_count(args, 1, 1, "audit [--limit N]"); !s.is_ok()) return report(s);
  auto limit = args.get_int("--limit", 50);
  if (!limit.is_ok()) return report(limit.status());
  if (*limit < 1 || *limit > 1'000'000) return fail(2, "--limit must be 1 to 1000000");
  auto entries = store.list_audit(*limit);
  if (!entries.is_ok()) return report(entries.status());
  std::string format = args.get_string("--format", "table");
  if (format == "json") {
    json arr = json::array();
    for (const auto& e : *entries) arr.push_back(audit_to_json(e));
    std::cout << dump(arr) << "\n";
    return 0;
  }
  if (format != "table") return fail(2, "--format for audit is table or json");
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : *entries) {
    rows.push_back(
        {std::to_string(e.id), utc_time(e.time_ms), e.actor, e.action, e.target, e.detail});
  }
  print_table({"ID", "TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"}, rows);
  return 0;
}

int run_admin(const std::vector<std::string>& argv) {
  auto parsed = Args::parse(argv, kValueFlags, kBoolFlags);
  if (!parsed.is_ok()) return fail(2, parsed.status().message() + " (see yun admin --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kHelp;
    return 0;
  }
  const auto& pos = args.positional();
  std::string cmd = pos.empty() ? "" : pos[0];
  std::string sub = pos.size() > 1 ? pos[1] : "";
  using Fn = int (*)(Store&, const Args&);
  Fn fn = nullptr;
  if (cmd == "tenant" && sub == "create")
    fn = tenant_create;
  else if (cmd == "tenant" && sub == "list")
    fn = tenant_list;
  else if (cmd == "key" && sub == "create")
    fn = key_create;
  else if (cmd == "key" && sub == "list")
    fn = key_list;
  else if (cmd == "key" && sub == "revoke")
    fn = key_revoke;
  else if (cmd == "usage")
    fn = usage;
  else if (cmd == "audit")
    fn = audit_list;
  if (!fn) {
    if (cmd.empty()) return fail(2, "admin needs a command (see yun admin --help)");
    return fail(2, "unknown admin command '" + cmd + (sub.empty() ? "" : " " + sub) +
                       "' (see yun admin --help)");
  }
  bool dir = args.has("--state-dir"), db = args.has("--db");
  if (dir == db) return fail(2, "admin needs exactly one of --state-dir DIR or --db URL");
  std::string where = dir ? args.get_string("--state-dir", "") : args.get_string("--db", "");
  if (where.empty()) return fail(2, "--state-dir / --db needs a value");
  if (db && !where.starts_with("postgres://") && !where.starts_with("postgresql://")) {
    return fail(2, "--db needs a postgres:// or postgresql:// URL (use --state-dir for SQLite)");
  }
  auto store = Store::open(where);
  if (!store.is_ok()) return report(store.status());
  return fn(**store, args);
}

}  // namespace

YUN_COMMAND("admin", "manage tenants, API keys, usage and the audit log", run_admin);

}  // namespace yun::cli
