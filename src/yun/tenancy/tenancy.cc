#include "yun/tenancy/tenancy.h"

#include <cstdio>

#include "yun/base/log.h"
#include "yun/base/prometheus_text.h"
#include "yun/tenancy/keys.h"

namespace yun::tenancy {
namespace {

// The tenant named `name`, created (no limits) when missing.
Result<Tenant> ensure_tenant(Store& store, const std::string& name) {
  auto t = store.find_tenant_by_name(name);
  if (!t.is_ok()) return t.status();
  if (t->has_value()) return **t;
  Tenant spec;
  spec.name = name;
  auto made = create_tenant(store, spec, "system");
  if (made.is_ok() || made.status().code() != StatusCode::kInvalidArgument) return made;
  // Another replica starting at the same moment created it first.
  auto again = store.find_tenant_by_name(name);
  if (again.is_ok() && again->has_value()) return **again;
  return made;
}

// Stores the command-line key `secret` in `tenant` unless a key with its
// hash exists (a revoked one stays revoked).
Status ensure_key(Store& store, const std::string& secret, const Tenant& tenant, KeyScope scope,
                  const std::string& name) {
  std::string h = hash_key(secret);
  auto k = store.find_key_by_hash(h);
  if (!k.is_ok()) return k.status();
  if (k->has_value()) return Status();
  ApiKey key;
  key.id = "key_" + h.substr(0, 16);  // stable across restarts
  key.tenant_id = tenant.id;
  key.scope = scope;
  key.name = name;
  key.hash = h;
  key.prefix = key_prefix(secret);
  key.created_ms = unix_ms_now();
  Status s = store.create_key(key);
  if (s.code() == StatusCode::kInvalidArgument) {
    // Another replica starting at the same moment stored it first.
    auto again = store.find_key_by_hash(h);
    if (again.is_ok() && again->has_value()) return Status();
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<Tenancy>> Tenancy::open(TenancyOptions o, std::string* bootstrap_key) {
  auto store = Store::open(o.where);
  if (!store.is_ok()) return store.status();
  std::unique_ptr<Tenancy> t(new Tenancy());
  t->store_ = std::move(*store);
  t->sync_interval_ = o.sync_interval;
  if (auto s = t->ensure_command_line_keys(o, bootstrap_key); !s.is_ok()) return s;
  if (auto s = t->sync_once(); !s.is_ok()) return s;
  t->ledger_ = std::make_unique<Ledger>(t->store_.get(), o.ledger);
  t->sync_ = std::thread([p = t.get()] { p->sync_loop(); });
  return t;
}

Status Tenancy::ensure_command_line_keys(const TenancyOptions& o, std::string* bootstrap_key) {
  if (!o.default_keys.empty()) {
    auto def = ensure_tenant(*store_, "default");
    if (!def.is_ok()) return def.status();
    for (size_t i = 0; i < o.default_keys.size(); ++i) {
      auto s = ensure_key(*store_, o.default_keys[i], *def, KeyScope::kInference,
                          "--api-key " + std::to_string(i));
      if (!s.is_ok()) return s;
    }
  }
  if (!o.admin_key.empty()) {
    auto adm = ensure_tenant(*store_, "admin");
    if (!adm.is_ok()) return adm.status();
    return ensure_key(*store_, o.admin_key, *adm, KeyScope::kAdmin, "--admin-key");
  }
  auto keys = store_->list_keys("");
  if (!keys.is_ok()) return keys.status();
  for (auto& k : *keys) {
    if (k.scope == KeyScope::kAdmin && k.revoked_ms == 0) return Status();
  }
  auto adm = ensure_tenant(*store_, "admin");
  if (!adm.is_ok()) return adm.status();
  auto k = tenancy::create_key(*store_, adm->id, KeyScope::kAdmin, "bootstrap", 0, "system");
  if (!k.is_ok()) return k.status();
  if (bootstrap_key) *bootstrap_key = k->secret;
  return Status();
}

Tenancy::~Tenancy() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sync_.joinable()) sync_.join();
  if (ledger_) ledger_->drain(std::chrono::seconds(5));
}

Status Tenancy::sync_once() {
  auto tenants = store_->list_tenants();
  if (!tenants.is_ok()) return tenants.status();
  auto keys = store_->list_keys("");
  if (!keys.is_ok()) return keys.status();
  int64_t now = quota_.now_ms();
  OthersUsage others;
  others.day = QuotaGate::day_of(now);
  others.month = others.day.substr(0, 7);
  const std::string& me = store_->instance();
  auto fill = [&](const std::string& from_day, std::unordered_map<std::string, int64_t>& into) {
    auto rows = store_->spend(from_day, me);
    if (!rows.is_ok()) return rows.status();
    for (auto& r : *rows) into[r.subject] = r.tokens;
    return Status();
  };
  if (auto s = fill("", others.total_tokens); !s.is_ok()) return s;
  if (auto s = fill(others.month + "-01", others.month_tokens); !s.is_ok()) return s;
  if (auto s = fill(others.day, others.day_tokens); !s.is_ok()) return s;
  auto recent = store_->recent(now - 60'000, me);
  if (!recent.is_ok()) return recent.status();
  for (auto& r : *recent) {
    others.minute_requests[r.subject] = r.requests;
    others.minute_tokens[r.subject] = r.tokens;
  }
  directory_.replace(std::move(*tenants), std::move(*keys));
  quota_.set_others(std::move(others));
  return Status();
}

void Tenancy::sync_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, sync_interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Status s = sync_once();
    lock.lock();
    if (s.is_ok()) {
      if (!store_ok_) YUN_LOG(kInfo, "tenancy: the store is reachable again");
      store_ok_ = true;
      store_error_.clear();
    } else {
      if (store_ok_) YUN_LOG(kWarn, "tenancy: store unreachable: " + s.message());
      store_ok_ = false;
      store_error_ = s.message();
    }
  }
}

Directory::Auth Tenancy::authenticate(std::string_view bearer) const {
  return directory_.authenticate(bearer, quota_.now_ms());
}

std::variant<Admission, Rejection> Tenancy::admit(const Identity& who, int64_t reserve_tokens,
                                                  RateHeaders* headers) {
  Subject t{"t:" + who.tenant.id, who.tenant.limits};
  Subject k{"k:" + who.key.id, who.key.limits};
  auto r = quota_.admit(t, k, reserve_tokens, headers);
  if (auto* rej = std::get_if<Rejection>(&r)) {
    count_rejection(who.tenant.id, rej->code == Rejection::kInsufficientQuota
                                       ? "insufficient_quota"
                                       : "rate_limit_exceeded");
    return *rej;
  }
  return Admission{std::get<Reservation>(r), quota_.now_ms()};
}

void Tenancy::finish(const Admission& a, UsageRecord r, Ledger::Committed committed) {
  quota_.settle(a.reservation, r.total_tokens());
  if (r.start_ms == 0) r.start_ms = a.start_ms;
  if (r.end_ms == 0) r.end_ms = quota_.now_ms();
  r.instance = store_->instance();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Counters& c = counters_[r.tenant_id];
    c.requests += 1;
    c.prompt_tokens += r.prompt_tokens;
    c.completion_tokens += r.completion_tokens;
  }
  ledger_->record(std::move(r), std::move(committed));
}

std::string Tenancy::unavailable_reason() const {
  if (!ledger_->healthy()) {
    return "the usage ledger cannot write to the database (" + ledger_->stats().last_error +
           "); requests are refused until it recovers";
  }
  if (!store_ok_) {
    std::lock_guard<std::mutex> lock(mu_);
    return "the tenancy database is unreachable (" + store_error_ + ")";
  }
  return "";
}

Result<Tenant> Tenancy::create_tenant(Tenant spec, const std::string& actor) {
  auto t = tenancy::create_tenant(*store_, std::move(spec), actor);
  if (t.is_ok()) directory_.put_tenant(*t);
  return t;
}

Result<Tenant> Tenancy::update_tenant(Tenant spec, const std::string& actor) {
  auto t = tenancy::update_tenant(*store_, std::move(spec), actor);
  if (t.is_ok()) directory_.put_tenant(*t);
  return t;
}

Result<NewKey> Tenancy::create_key(const std::string& tenant, KeyScope scope,
                                   const std::string& name, int64_t expires_ms,
                                   const std::string& actor, const Limits& limits) {
  auto k = tenancy::create_key(*store_, tenant, scope, name, expires_ms, actor, limits);
  if (k.is_ok()) directory_.put_key(k->key);
  return k;
}

Status Tenancy::revoke_key(const std::string& key_id, const std::string& actor) {
  if (auto s = tenancy::revoke_key(*store_, key_id, actor); !s.is_ok()) return s;
  auto k = store_->get_key(key_id);
  if (k.is_ok() && k->has_value()) directory_.put_key(**k);
  return Status();
}

void Tenancy::count_rejection(const std::string& tenant_id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_[tenant_id].rejections[reason] += 1;
}

std::string Tenancy::render_metrics() const {
  std::map<std::string, Counters> counters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters = counters_;
  }
  auto name_of = [this](const std::string& id) {
    auto t = directory_.tenant(id);
    return prometheus_label(t ? t->name : id);
  };
  std::string out;
  auto family = [&](const char* name, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (auto& [id, c] : counters) {
      out += std::string(name) + "{tenant=\"" + name_of(id) + "\"} " + std::to_string(value(c)) + "\n";
    }
  };
  family("yun_tenant_requests_total", "Generation requests that reached the engine, per tenant.",
         [](const Counters& c) { return c.requests; });
  family("yun_tenant_prompt_tokens_total", "Prompt tokens billed, per tenant.",
         [](const Counters& c) { return c.prompt_tokens; });
  family("yun_tenant_completion_tokens_total", "Completion tokens billed, per tenant.",
         [](const Counters& c) { return c.completion_tokens; });
  out += "# HELP yun_tenant_rejections_total Requests refused, per tenant and reason.\n"
         "# TYPE yun_tenant_rejections_total counter\n";
  for (auto& [id, c] : counters) {
    for (auto& [reason, n] : c.rejections) {
      out += "yun_tenant_rejections_total{tenant=\"" + name_of(id) + "\",reason=\"" +
             prometheus_label(reason) + "\"} " + std::to_string(n) + "\n";
    }
  }
  LedgerStats ls = ledger_->stats();
  out += "# HELP yun_tenancy_ledger_pending Usage records queued, not yet committed.\n"
         "# TYPE yun_tenancy_ledger_pending gauge\nyun_tenancy_ledger_pending " +
         std::to_string(ls.pending) + "\n";
  out += "# HELP yun_tenancy_ledger_committed_total Usage records committed.\n"
         "# TYPE yun_tenancy_ledger_committed_total counter\nyun_tenancy_ledger_committed_total " +
         std::to_string(ls.committed) + "\n";
  out += "# HELP yun_tenancy_ledger_healthy 1 when the ledger's last write succeeded.\n"
         "# TYPE yun_tenancy_ledger_healthy gauge\nyun_tenancy_ledger_healthy " +
         std::string(ls.healthy ? "1" : "0") + "\n";
  out += "# HELP yun_tenancy_store_healthy 1 when the last sync with the store succeeded.\n"
         "# TYPE yun_tenancy_store_healthy gauge\nyun_tenancy_store_healthy " +
         std::string(store_ok_ ? "1" : "0") + "\n";
  return out;
}

}  // namespace yun::tenancy
