// Tenancy: the cloud layer as the server uses it. Owns the store, the
// directory of tenants and keys, the quota gate and the usage ledger, and a
// sync thread that refreshes the directory and other replicas' usage from
// the store every sync interval.
//
// One request's path through it (serve/openai_service.cc):
//   authenticate(bearer)            -> Identity, or why not (401 / 403)
//   admit(identity, reserve_tokens) -> Admission, or a Rejection (429), or
//                                      unavailable (503: ledger or store down)
//   ... the engine generates ...
//   finish(admission, record, then) -> settles the quota, queues the record;
//                                      `then` once it is committed (serve
//                                      holds the response's last bytes until)
// finish() runs exactly once per admitted request (the serve layer's one
// terminal path), whatever ended it.
//
// Across replicas sharing one PostgreSQL: each replica's limits read the
// others' usage as of its last sync (default 500 ms): budgets and per-minute
// limits can be exceeded by at most what the other replicas admitted since
// their last commit + this replica's last sync (about 0.6 s of their traffic,
// plus the reservations they hold in flight); a key revoked or a tenant
// changed on one replica takes effect on the others within one sync.
//
// Keys given on the command line are stored like any other: --api-key keys
// belong to the tenant "default", --admin-key to the tenant "admin" (both
// created when missing). With no admin key in the store and none given,
// open() makes one and hands its secret back once (bootstrap_key).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "yun/tenancy/admin.h"
#include "yun/tenancy/directory.h"
#include "yun/tenancy/ledger.h"
#include "yun/tenancy/quota.h"
#include "yun/tenancy/store.h"

namespace yun::tenancy {

struct TenancyOptions {
  std::string where;  // a state directory, or a postgres:// URL (store.h)
  std::string admin_key;                  // --admin-key ("" : none)
  std::vector<std::string> default_keys;  // --api-key: inference keys of "default"
  std::chrono::milliseconds sync_interval{500};
  LedgerOptions ledger;
};

struct Admission {
  Reservation reservation;
  int64_t start_ms = 0;
};

class Tenancy {
 public:
  // bootstrap_key (may be null): set to a new admin key's secret when one
  // had to be made.
  static Result<std::unique_ptr<Tenancy>> open(TenancyOptions options, std::string* bootstrap_key);
  ~Tenancy();  // drain(5 s); stops the sync thread

  Directory::Auth authenticate(std::string_view bearer) const;
  std::variant<Admission, Rejection> admit(const Identity& who, int64_t reserve_tokens,
                                           RateHeaders* headers);
  // Settles `a` with the record's counts and queues the record (filled in:
  // instance, start_ms, end_ms when 0). `committed` (may be empty): called
  // once the record is committed, or after LedgerOptions::commit_wait of a
  // failing store (ledger.h), on the ledger's thread.
  void finish(const Admission& a, UsageRecord record, Ledger::Committed committed = {});
  // "" when new generation requests may start; else why not (503).
  std::string unavailable_reason() const;

  // Admin operations (admin.h) that also update this process's view at once.
  Result<Tenant> create_tenant(Tenant spec, const std::string& actor);
  Result<Tenant> update_tenant(Tenant t, const std::string& actor);
  Result<NewKey> create_key(const std::string& tenant, KeyScope scope, const std::string& name,
                            int64_t expires_ms, const std::string& actor, const Limits& limits = {});
  Status revoke_key(const std::string& key_id, const std::string& actor);

  Store& store() { return *store_; }
  const Directory& directory() const { return directory_; }
  Ledger& ledger() { return *ledger_; }
  // Commits what is queued (SIGTERM drain).
  void drain(std::chrono::milliseconds timeout) { ledger_->drain(timeout); }

  // Per-tenant counters (labels: tenant names only; bounded by the tenants).
  void count_rejection(const std::string& tenant_id, const std::string& reason);
  // Prometheus text: yun_tenant_requests_total, yun_tenant_prompt_tokens_total,
  // yun_tenant_completion_tokens_total, yun_tenant_rejections_total{reason},
  // yun_tenancy_ledger_pending, yun_tenancy_ledger_healthy, yun_tenancy_store_healthy.
  std::string render_metrics() const;

 private:
  Tenancy() = default;
  Status sync_once();  // directory + others' usage from the store
  void sync_loop();
  Status ensure_command_line_keys(const TenancyOptions& o, std::string* bootstrap_key);

  std::unique_ptr<Store> store_;
  std::unique_ptr<Ledger> ledger_;
  Directory directory_;
  QuotaGate quota_;
  std::chrono::milliseconds sync_interval_{500};
  std::atomic<bool> store_ok_{true};
  mutable std::mutex mu_;  // store_error_, counters_, stop_
  std::string store_error_;
  struct Counters {
    int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0;
    std::map<std::string, int64_t> rejections;  // by reason
  };
  std::map<std::string, Counters> counters_;  // by tenant id
  bool stop_ = false;
  std::condition_variable cv_;
  std::thread sync_;
};

}  // namespace yun::tenancy
