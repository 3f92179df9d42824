// `yun admin` as a process (YUN_BIN), on both backends: tenant create/list,
// key create/list/revoke (the secret printed once, only its hash stored),
// usage in every grouping and format (records put in through the Store),
// the audit trail of each mutation, and bad input: one `yun: ...` line on
// stderr and exit 2; a store that cannot be opened: exit 1.
//   build/tests/yun_tenancy_tests --gtest_filter='*AdminCli*'
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store_fixture.h"
#include "test_util.h"
#include "yun/tenancy/keys.h"

namespace yun::tenancy {
namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class AdminCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") YUN_NEED_PG();
    if (!std::filesystem::exists(yun::test::yun_bin())) {
      GTEST_SKIP() << "no yun binary at " << yun::test::yun_bin() << " (build --target yun)";
    }
    backend_ = std::make_unique<test::Backend>(GetParam());
    store_flag_ = backend_->postgres() ? std::vector<std::string>{"--db", backend_->where()}
                                       : std::vector<std::string>{"--state-dir", backend_->where()};
  }

  // yun admin <store flag> args...
  CliRun admin(std::vector<std::string> args, bool with_store = true) {
    if (with_store) args.insert(args.begin(), store_flag_.begin(), store_flag_.end());
    args.insert(args.begin(), "admin");
    return run(args);
  }
  CliRun run(const std::vector<std::string>& args) {
    std::string cmd = quote(yun::test::yun_bin());
    for (const auto& a : args) cmd.append(" ").append(quote(a));
    std::string out = out_dir_.str() + "/out", err = out_dir_.str() + "/err";
    cmd.append(" >").append(out).append(" 2>").append(err);
    int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }
  // Exit 2 with exactly one "yun: ..." line on stderr.
  void expect_usage_error(const CliRun& r, const std::string& needle) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(r.err.starts_with("yun: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }
  std::unique_ptr<Store> open() {
    auto s = Store::open(backend_->where());
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? std::move(*s) : nullptr;
  }

  test::TempDir out_dir_;
  std::unique_ptr<test::Backend> backend_;
  std::vector<std::string> store_flag_;
};

TEST_P(AdminCliTest, TenantsKeysRevocationAndTheirAudit) {
  CliRun created =
      admin({"tenant",   "create",       "acme",       "--rpm",    "60",
             "--tpm",    "5000",         "--budget",   "100000",   "--budget-period",
             "month",    "--max-tokens", "512",        "--models", "qwen3,llama",
             "--weight", "2.5",          "--priority", "3",        "--share-prefix-cache"});
  ASSERT_EQ(created.code, 0) << created.err;
  auto t = nlohmann::json::parse(created.out);
  EXPECT_EQ(t["name"], "acme");
  EXPECT_EQ(t["limits"]["requests_per_minute"], 60);
  EXPECT_EQ(t["limits"]["budget_period"], "month");
  EXPECT_EQ(t["limits"]["max_concurrent"], nullptr);
  EXPECT_EQ(t["models"], nlohmann::json::array({"qwen3", "llama"}));
  EXPECT_EQ(t["weight"], 2.5);
  EXPECT_EQ(t["share_prefix_cache"], true);
  std::string tenant_id = t["id"];

  expect_usage_error(admin({"tenant", "create", "acme"}), "acme");
  ASSERT_EQ(admin({"tenant", "create", "beta"}).code, 0);
  CliRun list = admin({"tenant", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("acme"), std::string::npos);
  EXPECT_NE(list.out.find("100000/month"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("beta"), std::string::npos);

  // A key by tenant name: the secret is printed once and only its hash kept.
  CliRun key =
      admin({"key", "create", "acme", "--scope", "admin", "--name", "ci", "--expires-days", "7"});
  ASSERT_EQ(key.code, 0) << key.err;
  auto at = key.out.find("key: ");
  ASSERT_NE(at, std::string::npos) << key.out;
  std::string secret = key.out.substr(at + 5, 47);
  ASSERT_TRUE(looks_like_key(secret)) << secret;
  auto id_at = key.out.find("id:  ");
  ASSERT_NE(id_at, std::string::npos);
  std::string key_id = key.out.substr(id_at + 5, key.out.find('\n', id_at) - id_at - 5);
  {
    auto store = open();
    auto k = store->find_key_by_hash(hash_key(secret));
    ASSERT_TRUE(k.is_ok() && k->has_value());
    EXPECT_EQ((*k)->id, key_id);
    EXPECT_EQ((*k)->tenant_id, tenant_id);
    EXPECT_EQ((*k)->scope, KeyScope::kAdmin);
    EXPECT_GT((*k)->expires_ms, (*k)->created_ms);
  }
  // And one by tenant id.
  ASSERT_EQ(admin({"key", "create", tenant_id}).code, 0);

  CliRun keys = admin({"key", "list", "acme"});
  ASSERT_EQ(keys.code, 0) << keys.err;
  EXPECT_NE(keys.out.find(key_id), std::string::npos);
  EXPECT_NE(keys.out.find(key_prefix(secret)), std::string::npos);
  EXPECT_EQ(keys.out.find(secret), std::string::npos);
  EXPECT_EQ(keys.out.find(hash_key(secret)), std::string::npos);

  CliRun revoked = admin({"key", "revoke", key_id});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  auto listed = nlohmann::json::parse(admin({"key", "list", "--format", "json"}).out);
  ASSERT_EQ(listed.size(), 2u);
  int seen = 0;
  for (const auto& k : listed) {
    if (k["id"] == key_id) {
      EXPECT_EQ(k["status"], "revoked");
      ++seen;
    } else {
      EXPECT_EQ(k["status"], "active");
    }
  }
  EXPECT_EQ(seen, 1);
  expect_usage_error(admin({"key", "revoke", "key_missing"}), "key_missing");

  CliRun audit = admin({"audit", "--format", "json"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  auto entries = nlohmann::json::parse(audit.out);
  std::vector<std::string> actions;
  for (const auto& e : entries) {
    EXPECT_EQ(e["actor"], "cli");
    actions.push_back(e["action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"key.revoke", "key.create", "key.create",
                                               "tenant.create", "tenant.create"}));
  EXPECT_EQ(entries[0]["target"], key_id);
  EXPECT_EQ(audit.out.find(secret), std::string::npos);
  CliRun last = admin({"audit", "--limit", "1"});
  ASSERT_EQ(last.code, 0);
  EXPECT_NE(last.out.find("key.revoke"), std::string::npos);
  EXPECT_EQ(last.out.find("tenant.create"), std::string::npos);
}

TEST_P(AdminCliTest, UsageInEveryGroupingAndFormat) {
  ASSERT_EQ(admin({"tenant", "create", "acme"}).code, 0);
  std::string id;
  {
    auto store = open();
    id = (**store->find_tenant_by_name("acme")).id;
    constexpr int64_t kDay1 = 1796119200000;  // 2026-12-01T10:00Z
    ASSERT_TRUE(store
                    ->append_usage(std::vector<UsageRecord>{
                        test::usage("u1", id, "key_a", "m1", 10, 5, kDay1),
                        test::usage("u2", id, "key_b", "m1", 20, 5, kDay1 + 3'600'000),
                        test::usage("u3", id, "key_a", "m1", 30, 5, kDay1 + 86'400'000),
                        test::usage("u4", "tn_other", "key_c", "m2", 1, 1, kDay1),
                    })
                    .is_ok());
  }
  auto rows = nlohmann::json::parse(admin({"usage", "--format", "json"}).out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["tenant"], id < std::string("tn_other") ? id : "tn_other");

  auto acme = nlohmann::json::parse(admin({"usage", "--tenant", "acme", "--format", "json"}).out);
  ASSERT_EQ(acme.size(), 1u);
  EXPECT_EQ(acme[0]["requests"], 3);
  EXPECT_EQ(acme[0]["prompt_tokens"], 60);
  EXPECT_EQ(acme[0]["total_tokens"], 75);

  auto by_day = nlohmann::json::parse(
      admin({"usage", "--tenant", id, "--group-by", "day", "--format", "json"}).out);
  ASSERT_EQ(by_day.size(), 2u);
  EXPECT_EQ(by_day[0]["date"], "2026-12-01");
  EXPECT_EQ(by_day[0]["requests"], 2);
  EXPECT_EQ(by_day[1]["date"], "2026-12-02");

  auto by_key = nlohmann::json::parse(
      admin({"usage", "--tenant", "acme", "--group-by", "key", "--format", "json"}).out);
  ASSERT_EQ(by_key.size(), 2u);
  EXPECT_EQ(by_key[0]["key"], "key_a");
  EXPECT_EQ(by_key[0]["requests"], 2);

  auto since = nlohmann::json::parse(
      admin({"usage", "--tenant", "acme", "--since", "2026-12-02", "--format", "json"}).out);
  ASSERT_EQ(since.size(), 1u);
  EXPECT_EQ(since[0]["requests"], 1);

  CliRun csv = admin({"usage", "--tenant", "acme", "--group-by", "hour", "--format", "csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_TRUE(csv.out.starts_with("tenant,model,hour,requests,prompt,cached,completion,total\n"))
      << csv.out;
  EXPECT_NE(csv.out.find(id + ",m1,2026-12-01T11,1,20,0,5,25\n"), std::string::npos) << csv.out;

  CliRun table = admin({"usage"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("TENANT")) << table.out;
  EXPECT_NE(table.out.find("m2"), std::string::npos);
}

TEST_P(AdminCliTest, BadInputIsOneLineAndExitTwo) {
  ASSERT_EQ(admin({"tenant", "create", "acme"}).code, 0);
  expect_usage_error(admin({"tenant", "list"}, /*with_store=*/false), "--state-dir");
  expect_usage_error(admin({"--state-dir", "/tmp/x", "--db", "postgres://h/d", "tenant", "list"},
                           /*with_store=*/false),
                     "exactly one");
  expect_usage_error(admin({"--db", "/some/dir", "tenant", "list"}, false), "postgres://");
  expect_usage_error(admin({}), "needs a command");
  expect_usage_error(admin({"tenant", "destroy", "acme"}), "unknown admin command");
  expect_usage_error(admin({"tenant", "create"}), "usage");
  expect_usage_error(admin({"tenant", "create", "has space"}), "letters, digits");
  expect_usage_error(admin({"tenant", "create", "x", "--rpm", "many"}), "--rpm");
  expect_usage_error(admin({"tenant", "create", "x", "--rpm", "0"}), "--rpm");
  expect_usage_error(admin({"tenant", "create", "x", "--weight", "0"}), "--weight");
  expect_usage_error(admin({"tenant", "create", "x", "--budget", "5", "--budget-period", "week"}),
                     "--budget-period");
  expect_usage_error(admin({"tenant", "create", "x", "--bogus"}), "unknown flag --bogus");
  expect_usage_error(admin({"tenant", "list", "--rpm", "3"}), "does not apply");
  expect_usage_error(admin({"key", "create", "nobody"}), "no tenant 'nobody'");
  expect_usage_error(admin({"key", "create", "acme", "--scope", "root"}), "--scope");
  expect_usage_error(admin({"key", "create", "acme", "--expires-days", "-1"}), "--expires-days");
  expect_usage_error(admin({"usage", "--since", "2026-13-01"}), "--since");
  expect_usage_error(admin({"usage", "--since", "yesterday"}), "--since");
  expect_usage_error(admin({"usage", "--group-by", "week"}), "--group-by");
  expect_usage_error(admin({"usage", "--format", "xml"}), "--format");
  expect_usage_error(admin({"usage", "--tenant", "nobody"}), "nobody");
  expect_usage_error(admin({"audit", "--limit", "0"}), "--limit");
  // None of that left a trace: one tenant, one audit entry.
  auto store = open();
  EXPECT_EQ(store->list_tenants()->size(), 1u);
  EXPECT_EQ(store->list_audit(10)->size(), 1u);
  EXPECT_TRUE(store->list_keys("")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminCliTest, ::testing::Values("sqlite", "postgres"),
                         test::backend_name);

TEST(AdminCli, AStoreThatCannotBeOpenedIsExitOne) {
  if (!std::filesystem::exists(yun::test::yun_bin())) GTEST_SKIP() << "no yun binary";
  test::TempDir dir;
  std::ofstream(dir.str() + "/file") << "x";
  std::string cmd = quote(yun::test::yun_bin()) + " admin --state-dir " +
                    quote(dir.str() + "/file/state") + " tenant list >/dev/null 2>" +
                    quote(dir.str() + "/err");
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string err = read_file(dir.str() + "/err");
  EXPECT_TRUE(err.starts_with("yun: ")) << err;
  cmd = quote(yun::test::yun_bin()) +
        " admin --db 'postgresql:///yun?host=/nonexistent-yun&port=1' tenant list 2>/dev/null";
  status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace yun::tenancy
