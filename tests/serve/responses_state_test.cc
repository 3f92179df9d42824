// The stored side of the Responses API as pure functions (responses_state.h):
// what a body asks of the store, stored input items, the previous chain,
// rows, paths and the input_items list query and page.
//   build/tests/yun_serve_tests --gtest_filter='ResponsesState*'
#include "yun/serve/responses_state.h"

#include <gtest/gtest.h>

namespace yun::serve {
namespace {

OJson J(const char* s) { return OJson::parse(s); }

TEST(ResponsesState, StoredRefs) {
  StoredRefs r;
  ASSERT_FALSE(parse_stored_refs(J(R"({"input":"x"})"), r));
  EXPECT_TRUE(r.store);  // OpenAI's default
  EXPECT_TRUE(r.previous_response_id.empty());
  ASSERT_FALSE(parse_stored_refs(
      J(R"({"store":false,"previous_response_id":"resp_1","input":[{"role":"user","content":"a"},
          {"type":"item_reference","id":"fc_1"},{"type":"item_reference","id":"rs_2"}]})"),
      r));
  EXPECT_FALSE(r.store);
  EXPECT_EQ(r.previous_response_id, "resp_1");
  EXPECT_EQ(r.item_ids, (std::vector<std::string>{"fc_1", "rs_2"}));

  struct Bad {
    const char* body;
    const char* param;
  } bad[] = {
      {R"({"store":"yes"})", "store"},
      {R"({"previous_response_id":1})", "previous_response_id"},
      {R"({"previous_response_id":""})", "previous_response_id"},
      {R"({"input":[{"type":"item_reference"}]})", "input[0].id"},
      {R"({"input":["x",{"type":"item_reference","id":3}]})", "input[1].id"},
      {R"({"input":[{"type":"item_reference","id":""}]})", "input[0].id"},
  };
  for (const auto& b : bad) {
    auto e = parse_stored_refs(J(b.body), r);
    ASSERT_TRUE(e) << b.body;
    EXPECT_EQ(e->http_status, 400);
    EXPECT_EQ(e->param, b.param) << b.body;
  }
}

TEST(ResponsesState, OwnInputItemsHaveIdsAndParts) {
  OJson s = own_input_items(OJson("hi"), {});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0]["type"], "message");
  EXPECT_EQ(s[0]["role"], "user");
  EXPECT_EQ(s[0]["content"], J(R"([{"type":"input_text","text":"hi"}])"));
  EXPECT_EQ(s[0]["id"].get<std::string>().rfind("msg_", 0), 0u);

  std::map<std::string, OJson> resolved = {{"fc_9", J(R"({"id":"fc_9","type":"function_call"})")}};
  OJson items = own_input_items(J(R"([{"role":"assistant","content":"ok","id":"msg_mine"},
            {"type":"item_reference","id":"fc_9"},
            {"type":"function_call_output","call_id":"c","output":"x"},
            {"type":"reasoning","summary":[]}])"),
                                resolved);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0]["id"], "msg_mine");  // kept
  EXPECT_EQ(items[0]["content"][0]["type"], "output_text");
  EXPECT_EQ(items[1], resolved["fc_9"]);
  EXPECT_EQ(items[2]["id"].get<std::string>().rfind("fco_", 0), 0u);
  EXPECT_EQ(items[3]["id"].get<std::string>().rfind("rs_", 0), 0u);
  // Whatever the translator will refuse is not a crash here.
  EXPECT_EQ(own_input_items(J(R"([1,{"type":2},{"role":[]}])"), {}).size(), 3u);
  EXPECT_TRUE(own_input_items(OJson(3), {}).empty());
}

TEST(ResponsesState, ChainAndExpandedBody) {
  tenancy::ResponseRow prev;
  prev.context = R"([{"id":"a"}])";
  prev.input_items = R"([{"id":"b"}])";
  prev.body = R"({"instructions":"not carried","output":[{"id":"c"},{"id":"d"}]})";
  OJson chain = chain_items(prev);
  EXPECT_EQ(chain, J(R"([{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"}])"));
  OJson body = expanded_body(J(R"({"previous_response_id":"r","input":"x","instructions":"new"})"),
                             chain, J(R"([{"id":"e"}])"));
  EXPECT_FALSE(body.contains("previous_response_id"));
  EXPECT_EQ(body["instructions"], "new");
  EXPECT_EQ(body["input"].size(), 5u);
  EXPECT_EQ(body["input"][4]["id"], "e");
  prev.body = "not json";
  EXPECT_EQ(chain_items(prev).size(), 2u);
}

TEST(ResponsesState, RowOfAResponse) {
  OJson response = J(R"({"id":"resp_1","created_at":7,"status":"incomplete",
                          "output":[{"id":"msg_o"},{"no":"id"}]})");
  auto row = response_row("tn", response, J(R"([{"id":"msg_i"}])"), J("[]"));
  EXPECT_EQ(row.tenant_id, "tn");
  EXPECT_EQ(row.id, "resp_1");
  EXPECT_EQ(row.created_ms, 7000);
  EXPECT_EQ(row.status, "incomplete");
  EXPECT_EQ(OJson::parse(row.body), response);
  ASSERT_EQ(row.items.size(), 2u);
  EXPECT_EQ(row.items[0].first, "msg_i");
  EXPECT_EQ(row.items[1].first, "msg_o");
}

TEST(ResponsesState, Paths) {
  std::string id, sub;
  EXPECT_TRUE(parse_response_path("/v1/responses/resp_1", id, sub));
  EXPECT_EQ(id, "resp_1");
  EXPECT_EQ(sub, "");
  EXPECT_TRUE(parse_response_path("/v1/responses/resp_1/input_items", id, sub));
  EXPECT_EQ(sub, "input_items");
  EXPECT_FALSE(parse_response_path("/v1/responses/resp_1/other", id, sub));
  EXPECT_FALSE(parse_response_path("/v1/responses//input_items", id, sub));
  EXPECT_FALSE(parse_response_path("/v1/responses/", id, sub));
  EXPECT_FALSE(parse_response_path("/v1/responses/a/input_items/x", id, sub));
}

TEST(ResponsesState, ListQuery) {
  ItemListQuery q;
  ASSERT_FALSE(parse_item_list_query({}, q));
  EXPECT_FALSE(q.ascending);
  EXPECT_EQ(q.limit, 20);
  ASSERT_FALSE(parse_item_list_query(
      {{"order", "asc"}, {"limit", "100"}, {"after", "m"}, {"include[]", "x"}}, q));
  EXPECT_TRUE(q.ascending);
  EXPECT_EQ(q.limit, 100);
  EXPECT_EQ(q.after, "m");
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"order", "up"},
                                                                      {"limit", "0"},
                                                                      {"limit", "101"},
                                                                      {"limit", "5x"},
                                                                      {"limit", ""},
                                                                      {"limit", "-1"},
                                                                      {"after", ""},
                                                                      {"bogus", "1"}}) {
    auto e = parse_item_list_query({{k, v}}, q);
    ASSERT_TRUE(e) << k << "=" << v;
    EXPECT_EQ(e->http_status, 400);
    EXPECT_EQ(e->param, k);
  }
}

TEST(ResponsesState, ListPages) {
  OJson items = J(R"([{"id":"i1"},{"id":"i2"},{"id":"i3"},{"id":"i4"},{"id":"i5"}])");
  ItemListQuery q;
  OJson out;
  ASSERT_FALSE(item_list(items, q, out));  // desc by default
  EXPECT_EQ(out["object"], "list");
  EXPECT_EQ(out["data"].size(), 5u);
  EXPECT_EQ(out["first_id"], "i5");
  EXPECT_EQ(out["last_id"], "i1");
  EXPECT_EQ(out["has_more"], false);
  q.ascending = true;
  q.limit = 2;
  ASSERT_FALSE(item_list(items, q, out));
  EXPECT_EQ(out["data"], J(R"([{"id":"i1"},{"id":"i2"}])"));
  EXPECT_EQ(out["has_more"], true);
  // Walking the pages with after visits every item once.
  std::vector<std::string> seen;
  q.after.clear();
  for (int page = 0; page < 10; ++page) {
    ASSERT_FALSE(item_list(items, q, out));
    for (const auto& d : out["data"]) seen.push_back(d["id"]);
    if (!out["has_more"].get<bool>()) break;
    q.after = out["last_id"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"i1", "i2", "i3", "i4", "i5"}));
  q.after = "i5";
  ASSERT_FALSE(item_list(items, q, out));
  EXPECT_TRUE(out["data"].empty());
  EXPECT_TRUE(out["first_id"].is_null());
  q.after = "nope";
  auto e = item_list(items, q, out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "after");
  EXPECT_EQ(e->http_status, 400);
}

TEST(ResponsesState, NotFoundIsOpenAiShaped) {
  ApiError e = response_not_found("resp_x");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.message, "Response with id 'resp_x' not found.");
  EXPECT_EQ(e.type, "invalid_request_error");
}

}  // namespace
}  // namespace yun::serve
