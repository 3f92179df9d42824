// The ResponseStore contract (response_store.h) on its three backends: the
// in-memory LRU, and the tenancy database on SQLite (a temp dir) and
// PostgreSQL (a fresh schema; YUN_TEST_PG_URL, see store_fixture.h). Rows
// by (tenant, id), replaced by id, items found by id, tenants apart; the
// LRU's count and byte bounds; the database's retention purge.
//   build/tests/yun_serve_tests --gtest_filter='*ResponseStore*'
#include "yun/serve/response_store.h"

#include <gtest/gtest.h>

#include "tenancy/store_fixture.h"

namespace yun::serve {
namespace {

tenancy::ResponseRow row(const std::string& tenant, const std::string& id,
                         int64_t created_ms = 1000, const std::string& body = "{\"output\":[]}") {
  tenancy::ResponseRow r;
  r.tenant_id = tenant;
  r.id = id;
  r.created_ms = created_ms;
  r.status = "completed";
  r.body = body;
  r.input_items = R"([{"id":"msg_in_)" + id + R"(","type":"message"}])";
  r.context = "[]";
  r.items = {{"msg_in_" + id, R"({"id":"msg_in_)" + id + R"("})"},
             {"fc_" + id, R"({"id":"fc_)" + id + R"(","type":"function_call"})"}};
  return r;
}

int64_t g_now_ms = 0;
int64_t fake_now() { return g_now_ms; }

class ResponseStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = memory_response_store();
      return;
    }
    if (GetParam() == "postgres") YUN_NEED_PG();
    backend_ = std::make_unique<tenancy::test::Backend>(GetParam());
    auto s = tenancy::Store::open(backend_->where());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    db_ = std::move(*s);
    store_ = tenancy_response_store(*db_, fake_now);
  }

  std::unique_ptr<tenancy::test::Backend> backend_;
  std::unique_ptr<tenancy::Store> db_;
  std::unique_ptr<ResponseStore> store_;
};

TEST_P(ResponseStoreTest, PutGetReplaceRemove) {
  EXPECT_EQ(store_->blocking(), GetParam() != "memory");
  tenancy::ResponseRow a = row("tn_a", "resp_1");
  ASSERT_TRUE(store_->put(a).is_ok());
  auto got = store_->get("tn_a", "resp_1");
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->body, a.body);
  EXPECT_EQ((*got)->input_items, a.input_items);
  EXPECT_EQ((*got)->context, "[]");
  EXPECT_EQ((*got)->status, "completed");
  EXPECT_EQ((*got)->created_ms, 1000);

  // Same id: replaced, items too.
  tenancy::ResponseRow b = row("tn_a", "resp_1", 2000, "{\"v\":2}");
  b.status = "incomplete";
  b.items = {{"rs_new", "{\"id\":\"rs_new\"}"}};
  ASSERT_TRUE(store_->put(b).is_ok());
  got = store_->get("tn_a", "resp_1");
  ASSERT_TRUE(got.is_ok() && got->has_value());
  EXPECT_EQ((*got)->body, "{\"v\":2}");
  EXPECT_EQ((*got)->status, "incomplete");
  EXPECT_FALSE(store_->find_item("tn_a", "fc_resp_1")->has_value());
  EXPECT_EQ(store_->find_item("tn_a", "rs_new")->value_or(""), "{\"id\":\"rs_new\"}");

  auto gone = store_->remove("tn_a", "resp_1");
  ASSERT_TRUE(gone.is_ok());
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(*store_->remove("tn_a", "resp_1"));
  EXPECT_FALSE(store_->get("tn_a", "resp_1")->has_value());
  EXPECT_FALSE(store_->find_item("tn_a", "rs_new")->has_value());
}

TEST_P(ResponseStoreTest, ItemsAreFoundById) {
  ASSERT_TRUE(store_->put(row("tn_a", "resp_1")).is_ok());
  ASSERT_TRUE(store_->put(row("tn_a", "resp_2")).is_ok());
  EXPECT_EQ(store_->find_item("tn_a", "fc_resp_2")->value_or(""),
            R"({"id":"fc_resp_2","type":"function_call"})");
  EXPECT_EQ(store_->find_item("tn_a", "msg_in_resp_1")->value_or(""), R"({"id":"msg_in_resp_1"})");
  EXPECT_FALSE(store_->find_item("tn_a", "fc_nope")->has_value());
}

TEST_P(ResponseStoreTest, AnItemIdStaysWithTheResponseThatStoredItFirst) {
  tenancy::ResponseRow a = row("tn_a", "resp_1"), b = row("tn_a", "resp_2");
  b.items.push_back({"fc_resp_1", "{\"id\":\"fc_resp_1\",\"copy\":true}"});  // a reference's copy
  ASSERT_TRUE(store_->put(a).is_ok());
  ASSERT_TRUE(store_->put(b).is_ok());
  EXPECT_EQ(store_->find_item("tn_a", "fc_resp_1")->value_or(""),
            R"({"id":"fc_resp_1","type":"function_call"})");
  ASSERT_TRUE(*store_->remove("tn_a", "resp_2"));  // the copy's row: the item stays
  EXPECT_TRUE(store_->find_item("tn_a", "fc_resp_1")->has_value());
  ASSERT_TRUE(*store_->remove("tn_a", "resp_1"));  // its own row: gone with it
  EXPECT_FALSE(store_->find_item("tn_a", "fc_resp_1")->has_value());
}

TEST_P(ResponseStoreTest, ATenantNeverSeesAnothersResponses) {
  ASSERT_TRUE(store_->put(row("tn_a", "resp_1")).is_ok());
  EXPECT_FALSE(store_->get("tn_b", "resp_1")->has_value());
  EXPECT_FALSE(store_->find_item("tn_b", "fc_resp_1")->has_value());
  EXPECT_FALSE(*store_->remove("tn_b", "resp_1"));
  // b's own row of the same id stays apart from a's.
  ASSERT_TRUE(store_->put(row("tn_b", "resp_1", 5, "{\"b\":1}")).is_ok());
  EXPECT_EQ(store_->get("tn_a", "resp_1")->value().body, "{\"output\":[]}");
  EXPECT_EQ(store_->get("tn_b", "resp_1")->value().body, "{\"b\":1}");
  EXPECT_TRUE(*store_->remove("tn_b", "resp_1"));
  EXPECT_TRUE(store_->get("tn_a", "resp_1")->has_value());
  EXPECT_TRUE(store_->find_item("tn_a", "fc_resp_1")->has_value());
}

TEST_P(ResponseStoreTest, TextIsKeptExactly) {
  // Quotes, backslashes, newlines and non-ASCII survive the round trip.
  std::string body = "{\"t\":\"a'b\\\"c\\\\d\\n\xC3\xA9\xE4\xB8\xAD\"}";
  ASSERT_TRUE(store_->put(row("tn_'x", "resp_'; DROP TABLE responses; --", 1, body)).is_ok());
  auto got = store_->get("tn_'x", "resp_'; DROP TABLE responses; --");
  ASSERT_TRUE(got.is_ok() && got->has_value()) << got.status().to_string();
  EXPECT_EQ((*got)->body, body);
}

INSTANTIATE_TEST_SUITE_P(Backends, ResponseStoreTest,
                         ::testing::Values("memory", "sqlite", "postgres"),
                         tenancy::test::backend_name);

TEST(MemoryResponseStore, LeastRecentlyUsedGoesFirstPastTheCount) {
  auto s = memory_response_store(3, 1 << 20);
  for (const char* id : {"r1", "r2", "r3"}) ASSERT_TRUE(s->put(row("t", id)).is_ok());
  ASSERT_TRUE(s->get("t", "r1")->has_value());  // r1 is now the most recent
  ASSERT_TRUE(s->put(row("t", "r4")).is_ok());
  EXPECT_FALSE(s->get("t", "r2")->has_value());  // the least recent went
  EXPECT_FALSE(s->find_item("t", "fc_r2")->has_value());
  for (const char* id : {"r1", "r3", "r4"}) EXPECT_TRUE(s->get("t", id)->has_value()) << id;
}

TEST(MemoryResponseStore, BoundedByBytes) {
  const size_t one = row("t", "r1").bytes();
  auto s = memory_response_store(100, one * 2 + one / 2);
  for (const char* id : {"r1", "r2", "r3"}) ASSERT_TRUE(s->put(row("t", id)).is_ok());
  EXPECT_FALSE(s->get("t", "r1")->has_value());
  EXPECT_TRUE(s->get("t", "r2")->has_value());
  EXPECT_TRUE(s->get("t", "r3")->has_value());
  // A row larger than the whole bound is not kept (and evicts nothing).
  ASSERT_TRUE(s->put(row("t", "big", 1, std::string(one * 3, 'x'))).is_ok());
  EXPECT_FALSE(s->get("t", "big")->has_value());
  EXPECT_TRUE(s->get("t", "r3")->has_value());
}

class TenancyResponseStoreTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TenancyResponseStoreTest, RowsPastRetentionArePurged) {
  if (GetParam() == "postgres") YUN_NEED_PG();
  tenancy::test::Backend backend(GetParam());
  auto db = tenancy::Store::open(backend.where());
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  const int64_t day = 24 * 3'600'000;
  g_now_ms = 100 * day;
  ASSERT_TRUE((*db)->put_response(row("t", "old", g_now_ms - 31 * day)).is_ok());
  ASSERT_TRUE((*db)->put_response(row("t", "kept", g_now_ms - 29 * day)).is_ok());
  auto s = tenancy_response_store(**db, fake_now);
  ASSERT_TRUE(s->put(row("t", "new", g_now_ms)).is_ok());  // the first put purges
  EXPECT_FALSE(s->get("t", "old")->has_value());
  EXPECT_FALSE(s->find_item("t", "fc_old")->has_value());
  EXPECT_TRUE(s->get("t", "kept")->has_value());
  EXPECT_TRUE(s->find_item("t", "fc_kept")->has_value());
  EXPECT_TRUE(s->get("t", "new")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, TenancyResponseStoreTest,
                         ::testing::Values("sqlite", "postgres"), tenancy::test::backend_name);

}  // namespace
}  // namespace yun::serve
