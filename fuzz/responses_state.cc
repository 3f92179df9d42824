// libFuzzer target: the stored side of the Responses API
// (responses_state.h) on any bytes: as a POST /v1/responses body (its
// stored references, its input as stored items with every item_reference
// resolved, the body expanded with a chain and translated,
// responses_request.h), as stored row texts (the previous chain), as a
// Response made a row, as a /v1/responses/... path and as an input_items
// query string (parsed, then a page of the body's items). Must never
// crash, throw or hang, whatever the bytes.
#include "yun/serve/responses_state.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "yun/serve/admin_query.h"
#include "yun/serve/responses_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yun::serve::OJson;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  OJson body = OJson::parse(bytes, nullptr, false);
  if (body.is_discarded()) body = OJson(bytes);

  yun::serve::StoredRefs refs;
  std::map<std::string, OJson> resolved;
  if (!yun::serve::parse_stored_refs(body, refs)) {
    for (const auto& id : refs.item_ids) resolved[id] = OJson{{"id", id}, {"type", "reasoning"}};
  }
  yun::tenancy::ResponseRow prev;
  prev.context = bytes;
  prev.input_items = bytes;
  prev.body = bytes;
  OJson chain = yun::serve::chain_items(prev);
  OJson input = body.is_object() && body.contains("input") ? body["input"] : body;
  OJson own = yun::serve::own_input_items(input, resolved);
  if (body.is_object()) {
    OJson expanded = yun::serve::expanded_body(body, chain, own);
    yun::serve::ResponsesRequest req;
    (void)yun::serve::parse_responses_request(
        expanded.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), req);
  }
  auto row = yun::serve::response_row("t", body, own, chain);
  (void)row.bytes();

  std::string id, sub;
  (void)yun::serve::parse_response_path("/v1/responses/" + bytes, id, sub);
  yun::serve::ItemListQuery q;
  if (!yun::serve::parse_item_list_query(yun::serve::query_params("/x?" + bytes), q)) {
    OJson page;
    (void)yun::serve::item_list(own, q, page);
  }
  return 0;
}
