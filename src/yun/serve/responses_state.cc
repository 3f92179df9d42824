#include "yun/serve/responses_state.h"

#include <algorithm>
#include <charconv>

#include "yun/serve/request_parse.h"
#include "yun/serve/responses_format.h"

namespace yun::serve {
namespace {

bool present(const OJson& o, const char* field) {
  auto it = o.find(field);
  return it != o.end() && !it->is_null();
}

OJson parse_or(const std::string& text, OJson fallback) {
  OJson j = OJson::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

void append(OJson& to, const OJson& list) {
  if (!list.is_array()) return;
  for (const auto& item : list) to.push_back(item);
}

// obj[key] when it is a string, else "".
std::string str(const OJson& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string dump_text(const OJson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The id prefix of an item of `type`.
const char* id_prefix(const std::string& type) {
  if (type == "function_call") return "fc";
  if (type == "function_call_output") return "fco";
  if (type == "reasoning") return "rs";
  return "msg";
}

// One input item as stored: a type, an id, a message's content as parts.
OJson stored_item(OJson item) {
  if (!item.is_object()) return item;
  if (!present(item, "type") && item.contains("role")) item["type"] = "message";
  std::string type = str(item, "type");
  if (type == "message") {
    std::string role = str(item, "role");
    if (auto c = item.find("content"); c != item.end() && c->is_string()) {
      *c = OJson::array(
          {{{"type", role == "assistant" ? "output_text" : "input_text"}, {"text", *c}}});
    }
  }
  if (str(item, "id").empty()) {
    item["id"] = make_response_id(id_prefix(type));
  }
  return item;
}

}  // namespace

std::optional<ApiError> parse_stored_refs(const OJson& body, StoredRefs& out) {
  out = StoredRefs{};
  if (!body.is_object()) return std::nullopt;  // the translator names this
  if (present(body, "store")) {
    if (!body["store"].is_boolean()) return json_type_error("store", "a boolean", body["store"]);
    out.store = body["store"].get<bool>();
  }
  if (present(body, "previous_response_id")) {
    const OJson& p = body["previous_response_id"];
    if (!p.is_string()) return json_type_error("previous_response_id", "a string", p);
    out.previous_response_id = p.get<std::string>();
    if (out.previous_response_id.empty()) {
      return bad_request("'previous_response_id' must not be empty", "previous_response_id");
    }
  }
  auto input = body.find("input");
  if (input == body.end() || !input->is_array()) return std::nullopt;
  for (size_t i = 0; i < input->size(); ++i) {
    const OJson& it = (*input)[i];
    if (str(it, "type") != "item_reference") continue;
    std::string p = "input[" + std::to_string(i) + "]";
    auto id = it.find("id");
    if (id == it.end() || !id->is_string() || id->get<std::string>().empty()) {
      return bad_request(p + " (an item_reference) needs a non-empty string 'id'", p + ".id");
    }
    out.item_ids.push_back(id->get<std::string>());
  }
  return std::nullopt;
}

OJson chain_items(const tenancy::ResponseRow& previous) {
  OJson out = OJson::array();
  append(out, parse_or(previous.context, OJson::array()));
  append(out, parse_or(previous.input_items, OJson::array()));
  OJson body = parse_or(previous.body, OJson::object());
  if (body.is_object() && body.contains("output")) append(out, body["output"]);
  return out;
}

OJson own_input_items(const OJson& input, const std::map<std::string, OJson>& resolved) {
  OJson out = OJson::array();
  if (input.is_string()) {
    out.push_back(stored_item(OJson{{"type", "message"}, {"role", "user"}, {"content", input}}));
    return out;
  }
  if (!input.is_array()) return out;
  for (const auto& item : input) {
    if (str(item, "type") == "item_reference") {
      auto id = item.find("id");
      auto r = id != item.end() && id->is_string() ? resolved.find(id->get<std::string>())
                                                   : resolved.end();
      if (r != resolved.end()) out.push_back(r->second);
      continue;
    }
    out.push_back(stored_item(item));
  }
  return out;
}

OJson expanded_body(OJson body, const OJson& chain, const OJson& own_items) {
  OJson input = OJson::array();
  append(input, chain);
  append(input, own_items);
  body["input"] = std::move(input);
  body.erase("previous_response_id");
  return body;
}

tenancy::ResponseRow response_row(const std::string& tenant, const OJson& response,
                                  const OJson& input_items, const OJson& context) {
  tenancy::ResponseRow row;
  row.tenant_id = tenant;
  row.id = str(response, "id");
  auto created = response.is_object() ? response.find("created_at") : response.end();
  row.created_ms = created != response.end() && created->is_number_integer()
                       ? created->get<int64_t>() * 1000
                       : 0;
  row.status = str(response, "status");
  row.body = dump_text(response);
  row.input_items = dump_text(input_items);
  row.context = dump_text(context);
  auto add_items = [&](const OJson& list) {
    if (!list.is_array()) return;
    for (const auto& item : list) {
      if (!str(item, "id").empty()) row.items.emplace_back(str(item, "id"), dump_text(item));
    }
  };
  add_items(input_items);
  if (response.is_object() && response.contains("output")) add_items(response["output"]);
  return row;
}

bool parse_response_path(const std::string& path, std::string& id, std::string& sub) {
  const std::string prefix = "/v1/responses/";
  if (path.rfind(prefix, 0) != 0) return false;
  std::string rest = path.substr(prefix.size());
  size_t slash = rest.find('/');
  id = rest.substr(0, slash);
  sub = slash == std::string::npos ? "" : rest.substr(slash + 1);
  return !id.empty() && (sub.empty() || sub == "input_items");
}

std::optional<ApiError> parse_item_list_query(const std::map<std::string, std::string>& params,
                                              ItemListQuery& out) {
  out = ItemListQuery{};
  for (const auto& [k, v] : params) {
    if (k == "order") {
      if (v != "asc" && v != "desc") return bad_request("'order' must be asc or desc", "order");
      out.ascending = v == "asc";
    } else if (k == "limit") {
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 100) {
        return bad_request("'limit' must be an integer from 1 to 100, got '" + v + "'", "limit");
      }
      out.limit = n;
    } else if (k == "after") {
      if (v.empty()) return bad_request("'after' must be an item id", "after");
      out.after = v;
    } else if (k != "include" && k != "include[]") {
      return bad_request("unknown parameter '" + k + "' (order, limit, after, include)", k);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> item_list(const OJson& items, const ItemListQuery& q, OJson& out) {
  std::vector<const OJson*> order;
  if (items.is_array()) {
    for (const auto& item : items) order.push_back(&item);
  }
  if (!q.ascending) std::reverse(order.begin(), order.end());
  size_t start = 0;
  if (!q.after.empty()) {
    bool found = false;
    for (size_t i = 0; i < order.size() && !found; ++i) {
      found = str(*order[i], "id") == q.after;
      start = i + 1;
    }
    if (!found) {
      return bad_request("'after': no item with id '" + q.after + "' in this response's input",
                         "after");
    }
  }
  OJson data = OJson::array();
  size_t end = std::min(order.size(), start + static_cast<size_t>(q.limit));
  for (size_t i = start; i < end; ++i) data.push_back(*order[i]);
  out = OJson::object();
  out["object"] = "list";
  out["data"] = data;
  out["first_id"] = data.empty() ? OJson(nullptr) : OJson(str(data.front(), "id"));
  out["last_id"] = data.empty() ? OJson(nullptr) : OJson(str(data.back(), "id"));
  out["has_more"] = end < order.size();
  return std::nullopt;
}

ApiError response_not_found(const std::string& id) {
  return ApiError{404, "Response with id '" + id + "' not found.", "invalid_request_error", "", ""};
}

ApiError item_not_found(const std::string& id, const std::string& param) {
  return ApiError{404, "Item with id '" + id + "' not found.", "invalid_request_error", param, ""};
}

}  // namespace yun::serve
