// yun_bench_tenancy_gate [--requests N] [--dir DIR]
//
// The in-process cost of tenancy per request (issue 14's target: under
// 0.2 ms): authenticate a bearer key, admit it through the quota gate (a
// tenant with every limit set), settle it and queue its usage record, N
// times on one thread over a real SQLite store; then how fast the ledger's
// background writer commits those records (target: >= 10,000 records/s).
// Prints one JSON object.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "yun/tenancy/tenancy.h"

using namespace yun::tenancy;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int64_t n = 100000;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--requests") n = std::atoll(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
  }
  if (dir.empty()) {
    char tmpl[] = "/tmp/yun-bench-gate-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  TenancyOptions o;
  o.where = dir;
  o.admin_key = "bench-admin";
  auto t = Tenancy::open(o, nullptr);
  if (!t.is_ok()) {
    std::fprintf(stderr, "open: %s\n", t.status().message().c_str());
    return 1;
  }
  Tenant spec;
  spec.name = "bench";
  spec.limits.requests_per_minute = int64_t{1} << 40;
  spec.limits.tokens_per_minute = int64_t{1} << 50;
  spec.limits.max_concurrent = 1 << 20;
  spec.limits.token_budget = int64_t{1} << 55;
  spec.limits.budget_period = BudgetPeriod::kMonth;
  auto tenant = (*t)->create_tenant(spec, "bench");
  auto key = (*t)->create_key(tenant->id, KeyScope::kInference, "bench", 0, "bench");
  if (!tenant.is_ok() || !key.is_ok()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  const std::string secret = key->secret;
  auto t0 = Clock::now();
  int64_t admitted = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto a = (*t)->authenticate(secret);
    if (!a.identity) return 1;
    RateHeaders h;
    auto r = (*t)->admit(*a.identity, 120, &h);
    if (auto* adm = std::get_if<Admission>(&r)) {
      ++admitted;
      UsageRecord rec;
      rec.request_id = "bench-" + std::to_string(i);
      rec.tenant_id = a.identity->tenant.id;
      rec.key_id = a.identity->key.id;
      rec.model = "tiny";
      rec.prompt_tokens = 100;
      rec.completion_tokens = 20;
      rec.finish_reason = "stop";
      (*t)->finish(*adm, std::move(rec));
    }
  }
  auto t1 = Clock::now();
  bool flushed = (*t)->ledger().flush(std::chrono::seconds(120));
  auto t2 = Clock::now();
  double path_s = std::chrono::duration<double>(t1 - t0).count();
  double commit_s = std::chrono::duration<double>(t2 - t0).count();
  LedgerStats s = (*t)->ledger().stats();
  std::printf(
      "{\"requests\": %lld, \"admitted\": %lld, \"per_request_us\": %.2f, "
      "\"ledger_committed\": %lld, \"ledger_batches\": %lld, \"ledger_records_per_s\": %.0f, "
      "\"flushed\": %s}\n",
      static_cast<long long>(n), static_cast<long long>(admitted), 1e6 * path_s / n,
      static_cast<long long>(s.committed), static_cast<long long>(s.batches),
      s.committed / commit_s, flushed ? "true" : "false");
  t->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
