// POST /v1/responses through the real HTTP server on FakeEngine (scripted
// output, byte tokens): the Response object, the event stream, tool calls
// and their round trip, reasoning items, usage, metrics and the 400s.
// Run: build/tests/yun_serve_tests --gtest_filter='ServerResponses*'
#include <unistd.h>

#include <filesystem>

#include "server_fixture.h"
#include "yun/tenancy/tenancy.h"

namespace yun::serve {
namespace {

using nlohmann::json;
using testing::http;

using ServerResponsesTest = testing::ServerTest;

json get_json(int port, const std::string& method, const std::string& target, int want = 200,
              const std::string& extra = "") {
  auto r = http(port, method, target, "", extra);
  EXPECT_EQ(r.status, want) << method << " " << target << " -> " << r.body;
  auto j = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.body;
  return j;
}

json post(int port, const std::string& body, const std::string& extra = "") {
  auto r = http(port, "POST", "/v1/responses", body, extra);
  EXPECT_EQ(r.status, 200) << body << " -> " << r.body;
  return json::parse(r.body, nullptr, false);
}

// "event: T\ndata: J" frames of a /v1/responses stream, as JSON.
std::vector<json> events(const testing::Reply& r) {
  std::vector<json> out;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("text/event-stream"), std::string::npos);
  for (const auto& d : testing::sse_data(r.body)) {
    auto j = json::parse(d, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << d;
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

TEST_F(ServerResponsesTest, NonStreamed) {
  start("Hello there");
  auto r = http(port_, "POST", "/v1/responses", R"({"input":"hi","instructions":"sys"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = json::parse(r.body);
  EXPECT_EQ(b["id"].get<std::string>().rfind("resp_", 0), 0u);
  EXPECT_EQ(b["object"], "response");
  EXPECT_EQ(b["status"], "completed");
  EXPECT_EQ(b["model"], "tiny");
  EXPECT_EQ(b["instructions"], "sys");
  ASSERT_EQ(b["output"].size(), 1u);
  EXPECT_EQ(b["output"][0]["type"], "message");
  EXPECT_EQ(b["output"][0]["content"][0]["text"], "Hello there");
  EXPECT_EQ(prompt_seen(), "system: sys\nuser: hi\nassistant:");
  EXPECT_EQ(b["usage"]["input_tokens"], prompt_seen().size());
  EXPECT_EQ(b["usage"]["output_tokens"], 11);
  EXPECT_EQ(b["usage"]["total_tokens"], prompt_seen().size() + 11);
  // Counted as generation requests, as chat is.
  auto m = http(port_, "GET", "/metrics").body;
  EXPECT_NE(m.find("vllm:request_success_total{"), std::string::npos);
}

TEST_F(ServerResponsesTest, MaxOutputTokensIsIncomplete) {
  start("abcdefghijklmnop");
  auto b = json::parse(http(port_, "POST", "/v1/responses", R"({"input":"hi","max_output_tokens":4})").body);
  EXPECT_EQ(b["status"], "incomplete");
  EXPECT_EQ(b["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(b["output"][0]["content"][0]["text"], "abcd");
  EXPECT_EQ(b["usage"]["output_tokens"], 4);
}

TEST_F(ServerResponsesTest, StreamedEventsAndDeltas) {
  start("Streamed words here");
  auto ev = events(http(port_, "POST", "/v1/responses", R"({"input":"hi","stream":true})"));
  ASSERT_GE(ev.size(), 8u);
  EXPECT_EQ(ev[0]["type"], "response.created");
  EXPECT_EQ(ev[1]["type"], "response.in_progress");
  EXPECT_EQ(ev[2]["type"], "response.output_item.added");
  EXPECT_EQ(ev[3]["type"], "response.content_part.added");
  EXPECT_EQ(ev.back()["type"], "response.completed");
  std::string text;
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i]["sequence_number"], i);
    if (ev[i]["type"] == "response.output_text.delta") text += ev[i]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "Streamed words here");
  const json& done = ev.back()["response"];
  EXPECT_EQ(done["output"][0]["content"][0]["text"], text);
  EXPECT_EQ(done["usage"]["output_tokens"], 19);
  EXPECT_EQ(done["id"], ev[0]["response"]["id"]);
}

TEST_F(ServerResponsesTest, ReasoningItem) {
  ServiceOptions o;
  o.reasoning_parser = "qwen3";
  start("because</think>\n\nAnswer", o);
  auto b = json::parse(http(port_, "POST", "/v1/responses",
                            R"({"input":"q","reasoning":{"effort":"high"}})").body);
  EXPECT_EQ(prompt_seen(), "user: q\nassistant:<think>\n");  // effort high: thinking on
  ASSERT_EQ(b["output"].size(), 2u) << b;
  EXPECT_EQ(b["output"][0]["type"], "reasoning");
  EXPECT_EQ(b["output"][0]["summary"][0]["text"], "because");
  EXPECT_EQ(b["output"][1]["content"][0]["text"], "Answer");
  EXPECT_EQ(b["usage"]["output_tokens_details"]["reasoning_tokens"], 7);  // one token per byte

  auto ev = events(http(port_, "POST", "/v1/responses",
                        R"({"input":"q","reasoning":{"effort":"high"},"stream":true})"));
  std::string summary;
  for (const auto& e : ev) {
    if (e["type"] == "response.reasoning_summary_text.delta") summary += e["delta"].get<std::string>();
  }
  EXPECT_EQ(summary, "because");
  EXPECT_EQ(ev.back()["response"]["output"][0]["type"], "reasoning");

  http(port_, "POST", "/v1/responses", R"({"input":"q","reasoning":{"effort":"minimal"}})");
  EXPECT_EQ(prompt_seen(), "user: q\nassistant:");
}

const std::string kCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
const std::string kTools = R"([{"type":"function","name":"get_weather","parameters":{}}])";

TEST_F(ServerResponsesTest, FunctionCallRoundTrip) {
  start(kCall);
  auto b = json::parse(http(port_, "POST", "/v1/responses",
                            R"({"input":"weather?","tools":)" + kTools + "}").body);
  ASSERT_EQ(b["output"].size(), 1u) << b;
  json call = b["output"][0];
  EXPECT_EQ(call["type"], "function_call");
  EXPECT_EQ(call["name"], "get_weather");
  EXPECT_EQ(call["arguments"], R"({"city": "Paris"})");
  EXPECT_EQ(call["status"], "completed");

  auto ev = events(http(port_, "POST", "/v1/responses",
                        R"({"input":"weather?","stream":true,"tools":)" + kTools + "}"));
  std::string args;
  for (const auto& e : ev) {
    if (e["type"] == "response.function_call_arguments.delta") args += e["delta"].get<std::string>();
  }
  EXPECT_EQ(args, R"({"city": "Paris"})");
  EXPECT_EQ(ev.back()["response"]["output"][0]["type"], "function_call");

  json input = json::array({{{"role", "user"}, {"content", "weather?"}},
                            {{"type", "function_call"},
                             {"call_id", call["call_id"]},
                             {"name", "get_weather"},
                             {"arguments", call["arguments"]}},
                            {{"type", "function_call_output"},
                             {"call_id", call["call_id"]},
                             {"output", "sunny"}}});
  json body = {{"input", input}, {"tools", json::parse(kTools)}};
  auto r = http(port_, "POST", "/v1/responses", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(prompt_seen(), "user: weather?\nassistant: \ntool: sunny\ntools: 1\nassistant:");
}

TEST_F(ServerResponsesTest, BadRequests) {
  start("x");
  struct Case {
    std::string body;
    int status;
    const char* param;
  } cases[] = {
      {R"({"input":"hi","previous_response_id":"resp_1"})", 404, "previous_response_id"},
      {R"({"input":"hi","previous_response_id":""})", 400, "previous_response_id"},
      {R"({"input":[{"type":"item_reference","id":"fc_nope"}]})", 404, "input"},
      {R"({"input":[{"type":"item_reference"}]})", 400, "input[0].id"},
      {R"({"input":"hi","store":1})", 400, "store"},
      {R"({"input":[{"type":"input_image"}]})", 400, "input[0].type"},
      {R"({"model":"nope","input":"hi"})", 404, "model"},
      {R"({"input":"hi","max_output_tokens":100000})", 400, "max_output_tokens"},
      {R"({"nothing":1})", 400, "input"},
  };
  for (const auto& c : cases) {
    auto r = http(port_, "POST", "/v1/responses", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["param"], c.param) << r.body;
  }
}

TEST_F(ServerResponsesTest, StoredRetrievedListedDeleted) {
  start("Hello");
  json b = post(port_, R"({"input":"hi","instructions":"sys","metadata":{"k":"v"}})");
  EXPECT_EQ(b["store"], true);  // OpenAI's default
  const std::string id = b["id"];
  EXPECT_EQ(get_json(port_, "GET", "/v1/responses/" + id), b);  // as it was answered

  json items = get_json(port_, "GET", "/v1/responses/" + id + "/input_items");
  EXPECT_EQ(items["object"], "list");
  ASSERT_EQ(items["data"].size(), 1u) << items;
  EXPECT_EQ(items["data"][0]["type"], "message");
  EXPECT_EQ(items["data"][0]["role"], "user");
  EXPECT_EQ(items["data"][0]["content"], json::parse(R"([{"type":"input_text","text":"hi"}])"));
  EXPECT_EQ(items["first_id"], items["data"][0]["id"]);
  EXPECT_EQ(items["has_more"], false);

  json del = get_json(port_, "DELETE", "/v1/responses/" + id);
  EXPECT_EQ(del, (json{{"id", id}, {"object", "response.deleted"}, {"deleted", true}}));
  json gone = get_json(port_, "GET", "/v1/responses/" + id, 404);
  EXPECT_EQ(gone["error"]["message"], "Response with id '" + id + "' not found.");
  EXPECT_EQ(gone["error"]["type"], "invalid_request_error");
  get_json(port_, "DELETE", "/v1/responses/" + id, 404);
  get_json(port_, "GET", "/v1/responses/" + id + "/input_items", 404);
}

TEST_F(ServerResponsesTest, StreamedAndIncompleteAreStoredWithTheirStatus) {
  start("abcdefgh");
  auto ev = events(http(port_, "POST", "/v1/responses", R"({"input":"hi","stream":true})"));
  const json& done = ev.back()["response"];
  EXPECT_EQ(get_json(port_, "GET", "/v1/responses/" + done["id"].get<std::string>()), done);
  json cut = post(port_, R"({"input":"hi","max_output_tokens":3})");
  json kept = get_json(port_, "GET", "/v1/responses/" + cut["id"].get<std::string>());
  EXPECT_EQ(kept["status"], "incomplete");
  EXPECT_EQ(kept["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(kept["output"][0]["content"][0]["text"], "abc");
}

TEST_F(ServerResponsesTest, StoreFalseKeepsNothing) {
  start("Hello");
  json b = post(port_, R"({"input":"hi","store":false})");
  EXPECT_EQ(b["store"], false);
  get_json(port_, "GET", "/v1/responses/" + b["id"].get<std::string>(), 404);
  auto r = http(port_, "POST", "/v1/responses",
                R"({"input":"x","previous_response_id":")" + b["id"].get<std::string>() + "\"}");
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(ServerResponsesTest, PreviousResponseIdContinuesTheChain) {
  start("Hello");
  json r1 = post(port_, R"({"input":"hi","instructions":"sys"})");
  json r2 = post(
      port_, R"({"input":"more","previous_response_id":")" + r1["id"].get<std::string>() + "\"}");
  // The chain's input and output, then the new input; instructions are not carried over.
  EXPECT_EQ(prompt_seen(), "user: hi\nassistant: Hello\nuser: more\nassistant:");
  EXPECT_EQ(r2["previous_response_id"], r1["id"]);
  EXPECT_TRUE(r2["instructions"].is_null());
  json r3 = post(port_, R"({"input":"again","instructions":"new","previous_response_id":")" +
                            r2["id"].get<std::string>() + "\"}");
  EXPECT_EQ(prompt_seen(),
            "system: new\nuser: hi\nassistant: Hello\nuser: more\nassistant: Hello\nuser: "
            "again\nassistant:");
  // input_items lists a response's own input only.
  json items =
      get_json(port_, "GET", "/v1/responses/" + r3["id"].get<std::string>() + "/input_items");
  ASSERT_EQ(items["data"].size(), 1u);
  EXPECT_EQ(items["data"][0]["content"][0]["text"], "again");
  // Deleting a link breaks the chain from there (a 404), not the others.
  get_json(port_, "DELETE", "/v1/responses/" + r2["id"].get<std::string>());
  auto r = http(port_, "POST", "/v1/responses",
                R"({"input":"x","previous_response_id":")" + r2["id"].get<std::string>() + "\"}");
  EXPECT_EQ(r.status, 404) << r.body;
  post(port_, R"({"input":"x","previous_response_id":")" + r3["id"].get<std::string>() + "\"}");
  EXPECT_EQ(prompt_seen().rfind("user: hi\n", 0), 0u);  // r3 holds its whole chain
}

TEST_F(ServerResponsesTest, ItemReferencesResolveToStoredItems) {
  start(kCall);
  json r1 = post(port_, R"({"input":"weather?","tools":)" + kTools + "}");
  ASSERT_EQ(r1["output"][0]["type"], "function_call") << r1;
  json call = r1["output"][0];
  json input = json::array(
      {{{"role", "user"}, {"content", "weather?"}},
       {{"type", "item_reference"}, {"id", call["id"]}},
       {{"type", "function_call_output"}, {"call_id", call["call_id"]}, {"output", "sunny"}}});
  post(port_, json{{"input", input}, {"tools", json::parse(kTools)}}.dump());
  // The same prompt as sending the call itself (FunctionCallRoundTrip).
  EXPECT_EQ(prompt_seen(), "user: weather?\nassistant: \ntool: sunny\ntools: 1\nassistant:");
  // Input items are found by id too.
  json items =
      get_json(port_, "GET", "/v1/responses/" + r1["id"].get<std::string>() + "/input_items");
  json again = json::array({{{"type", "item_reference"}, {"id", items["data"][0]["id"]}}});
  post(port_, json{{"input", again}}.dump());
  EXPECT_EQ(prompt_seen(), "user: weather?\nassistant:");
}

TEST_F(ServerResponsesTest, InputItemsPagesAndBadParams) {
  start("ok");
  json r =
      post(port_, R"({"input":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},
                                   {"role":"user","content":"c"}]})");
  const std::string base = "/v1/responses/" + r["id"].get<std::string>() + "/input_items";
  json desc = get_json(port_, "GET", base);
  ASSERT_EQ(desc["data"].size(), 3u);
  EXPECT_EQ(desc["data"][0]["content"][0]["text"], "c");  // newest first by default
  EXPECT_EQ(desc["data"][1]["content"][0]["type"], "output_text");
  json page = get_json(port_, "GET", base + "?order=asc&limit=2");
  ASSERT_EQ(page["data"].size(), 2u);
  EXPECT_EQ(page["data"][0]["content"][0]["text"], "a");
  EXPECT_EQ(page["has_more"], true);
  json rest = get_json(port_, "GET",
                       base + "?order=asc&limit=2&after=" + page["last_id"].get<std::string>());
  ASSERT_EQ(rest["data"].size(), 1u);
  EXPECT_EQ(rest["data"][0]["content"][0]["text"], "c");
  EXPECT_EQ(rest["has_more"], false);
  for (const char* q : {"?limit=0", "?limit=101", "?order=sideways", "?after=nope", "?x=1"}) {
    json e = get_json(port_, "GET", base + q, 400);
    EXPECT_EQ(e["error"]["type"], "invalid_request_error") << q;
  }
  get_json(port_, "GET", "/v1/responses/" + r["id"].get<std::string>() + "/other", 404);
  EXPECT_EQ(http(port_, "POST", "/v1/responses/" + r["id"].get<std::string>(), "{}").status, 405);
}

TEST_F(ServerResponsesTest, TheInMemoryStoreIsBounded) {
  ServiceOptions o;
  o.max_stored_responses = 2;
  start("ok", o);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(post(port_, R"({"input":"hi"})")["id"]);
  get_json(port_, "GET", "/v1/responses/" + ids[0], 404);  // the least recently used went
  get_json(port_, "GET", "/v1/responses/" + ids[1]);
  get_json(port_, "GET", "/v1/responses/" + ids[2]);
}

// With tenancy the rows are in its database, and a tenant sees only its own.
TEST_F(ServerResponsesTest, WithTenancyATenantSeesOnlyItsOwn) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("yun-responses-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  tenancy::TenancyOptions to;
  to.where = dir;
  to.admin_key = "the-admin-key";
  auto t = tenancy::Tenancy::open(to, nullptr);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  std::vector<std::string> auth, tenant_ids;
  for (const char* name : {"a", "b"}) {
    tenancy::Tenant spec;
    spec.name = name;
    auto tenant = (*t)->create_tenant(spec, "test");
    ASSERT_TRUE(tenant.is_ok()) << tenant.status().to_string();
    tenant_ids.push_back(tenant->id);
    auto key = (*t)->create_key(tenant->id, tenancy::KeyScope::kInference, "k", 0, "test");
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    auth.push_back("Authorization: Bearer " + key->secret + "\r\n");
  }
  ServiceOptions o;
  o.tenancy = t->get();
  start("Hello", o);
  json a = post(port_, R"({"input":"hi"})", auth[0]);
  const std::string id = a["id"];
  EXPECT_EQ(get_json(port_, "GET", "/v1/responses/" + id, 200, auth[0]), a);
  get_json(port_, "GET", "/v1/responses/" + id, 404, auth[1]);
  get_json(port_, "GET", "/v1/responses/" + id + "/input_items", 404, auth[1]);
  get_json(port_, "DELETE", "/v1/responses/" + id, 404, auth[1]);
  auto r = http(port_, "POST", "/v1/responses",
                R"({"input":"x","previous_response_id":")" + id + "\"}", auth[1]);
  EXPECT_EQ(r.status, 404) << r.body;
  json refs =
      json{{"input", json::array({{{"type", "item_reference"}, {"id", a["output"][0]["id"]}}})}};
  EXPECT_EQ(http(port_, "POST", "/v1/responses", refs.dump(), auth[1]).status, 404);
  post(port_, refs.dump(), auth[0]);
  EXPECT_EQ(prompt_seen(), "assistant: Hello\nassistant:");
  get_json(port_, "GET", "/v1/responses/" + id, 401);  // no key
  // In the database: a fresh store on the same state sees the row.
  auto db = tenancy::Store::open(dir);
  ASSERT_TRUE(db.is_ok());
  auto row = (*db)->get_response(tenant_ids[0], id);
  ASSERT_TRUE(row.is_ok() && row->has_value());
  EXPECT_EQ((*row)->status, "completed");
  get_json(port_, "DELETE", "/v1/responses/" + id, 200, auth[0]);
  server_->stop();
  server_.reset();
  service_.reset();
  t->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yun::serve
