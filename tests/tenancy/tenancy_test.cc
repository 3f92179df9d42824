// Tenancy (the facade): replicas starting at once, command-line keys, and
// one request's path from authentication to its usage record.
#include "yun/tenancy/tenancy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace yun::tenancy {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/yun-tenancy-test-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(Tenancy, ReplicasStartingAtOnceAllComeUp) {
  std::string dir = temp_dir();
  std::atomic<int> ok{0};
  std::vector<std::string> errors(8);
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] {
      TenancyOptions o;
      o.where = dir;
      o.admin_key = "the-admin-key";
      o.default_keys = {"legacy-1", "legacy-2"};
      auto t = Tenancy::open(o, nullptr);
      if (t.is_ok()) ok += 1;
      else errors[i] = t.status().message();
    });
  }
  for (auto& t : ts) t.join();
  for (auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(ok, 8);
  auto store = Store::open(dir);
  ASSERT_TRUE(store.is_ok());
  EXPECT_EQ((*store)->list_keys("")->size(), 3u);  // one admin key, two legacy keys, once each
  std::filesystem::remove_all(dir);
}

TEST(Tenancy, ARequestFromKeyToUsageRecord) {
  std::string dir = temp_dir();
  std::string boot;
  auto t = Tenancy::open(TenancyOptions{dir}, &boot);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(boot.rfind("yun-sk-", 0), 0u);  // no admin key yet: a bootstrap one
  auto admin = (*t)->authenticate(boot);
  ASSERT_TRUE(admin.identity);
  EXPECT_TRUE(admin.identity->admin());
  Tenant spec;
  spec.name = "acme";
  spec.limits.token_budget = 100;
  auto acme = (*t)->create_tenant(spec, admin.identity->key.id);
  ASSERT_TRUE(acme.is_ok());
  auto key = (*t)->create_key("acme", KeyScope::kInference, "", 0, admin.identity->key.id);
  ASSERT_TRUE(key.is_ok());
  auto who = (*t)->authenticate(key->secret);
  ASSERT_TRUE(who.identity);
  auto a = (*t)->admit(*who.identity, 60, nullptr);
  ASSERT_TRUE(std::holds_alternative<Admission>(a));
  EXPECT_TRUE(std::holds_alternative<Rejection>((*t)->admit(*who.identity, 60, nullptr)));
  UsageRecord r;
  r.request_id = "req-1";
  r.tenant_id = acme->id;
  r.key_id = key->key.id;
  r.model = "m";
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  (*t)->finish(std::get<Admission>(a), r);
  ASSERT_TRUE((*t)->ledger().flush(std::chrono::seconds(5)));
  UsageQuery q;
  q.tenant_id = acme->id;
  auto rows = (*t)->store().query_usage(q);
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].prompt_tokens, 10);
  // 15 spent of 100: a 60-token reservation fits again.
  EXPECT_TRUE(std::holds_alternative<Admission>((*t)->admit(*who.identity, 60, nullptr)));
  // A second open of the same state makes no new bootstrap key.
  t->reset();
  std::string boot2;
  auto t2 = Tenancy::open(TenancyOptions{dir}, &boot2);
  ASSERT_TRUE(t2.is_ok());
  EXPECT_EQ(boot2, "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yun::tenancy
