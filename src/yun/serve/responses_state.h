// The stored side of the Responses API (response_store.h holds the rows):
// what a POST /v1/responses body asks of the store, how stored items become
// the new request's input, how a Response becomes a row, and the
// /v1/responses/{id}[/input_items] paths and list query. Pure functions
// over JSON; nothing here touches a store or throws.
//
//   store                 a boolean; default true (as OpenAI's).
//   previous_response_id  a non-empty string: the stored response's context
//                         (its chain's items), input items and output items
//                         come before this request's input; its
//                         instructions are not carried over (as OpenAI's).
//   input[i] item_reference {type, id}: replaced by the stored item of that
//                         id (an input or output item of a stored response).
//
// Input items as stored (and listed by input_items): a string input is one
// user message item; a message's string content becomes one input_text
// (output_text for assistant) part; an item without an id gets one
// (msg_, fc_, fco_, rs_ by type).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "yun/serve/api_error.h"
#include "yun/serve/openai_format.h"
#include "yun/tenancy/model.h"

namespace yun::serve {

// What a body asks of the store. Errors (400) name the field.
struct StoredRefs {
  bool store = true;
  std::string previous_response_id;   // "": none
  std::vector<std::string> item_ids;  // item_reference ids, input order
};
std::optional<ApiError> parse_stored_refs(const OJson& body, StoredRefs& out);

// The chain a stored response continues: its context + input items +
// output items (what previous_response_id puts before the new input).
// Malformed stored text reads as no items.
OJson chain_items(const tenancy::ResponseRow& previous);

// The request's own input as stored items (see the top), item_reference
// items replaced by resolved[id]. REQUIRES: parse_stored_refs accepted the
// body and `resolved` holds each of its item_ids.
OJson own_input_items(const OJson& input, const std::map<std::string, OJson>& resolved);

// The body the translator (responses_request.h) gets: `body` with input =
// chain + own items and previous_response_id removed.
OJson expanded_body(OJson body, const OJson& chain, const OJson& own_items);

// A Response (as answered) as a row of `tenant`: id, created_at (s -> ms),
// status, and every item with an id of input and output.
tenancy::ResponseRow response_row(const std::string& tenant, const OJson& response,
                                  const OJson& input_items, const OJson& context);

// "/v1/responses/{id}" -> id, sub ""; ".../{id}/input_items" -> sub
// "input_items". False for anything else (a 404).
bool parse_response_path(const std::string& path, std::string& id, std::string& sub);

// GET .../input_items: order asc | desc (default desc, newest first),
// limit 1..100 (default 20), after (an item id: the page starts after it);
// include is accepted. Another parameter or a bad value: 400 naming it.
struct ItemListQuery {
  bool ascending = false;
  int limit = 20;
  std::string after;
};
std::optional<ApiError> parse_item_list_query(const std::map<std::string, std::string>& params,
                                              ItemListQuery& out);

// OpenAI's list object {object: "list", data, first_id, last_id, has_more}
// over `items` (in input order). An `after` that is not one of them: 400.
std::optional<ApiError> item_list(const OJson& items, const ItemListQuery& q, OJson& out);

// OpenAI's 404 for an unknown (or another tenant's) response or item.
ApiError response_not_found(const std::string& id);
ApiError item_not_found(const std::string& id, const std::string& param);

}  // namespace yun::serve
