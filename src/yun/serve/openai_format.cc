#include "yun/serve/openai_format.h"

#include <chrono>
#include <cmath>
#include <random>

#include "yun/base/utf8.h"

namespace yun::serve {

std::string dump_json(const OJson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_event(const OJson& j) { return "data: " + dump_json(j) + "\n\n"; }

std::string make_request_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = prefix + "-";
  for (int i = 0; i < 32; ++i) id += kHex[rng() & 15];
  return id;
}

int64_t unix_time_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

OJson usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens) {
  OJson u;
  u["prompt_tokens"] = prompt_tokens;
  u["total_tokens"] = prompt_tokens + completion_tokens;
  u["completion_tokens"] = completion_tokens;
  u["prompt_tokens_details"] = {{"cached_tokens", cached_tokens}};
  return u;
}

std::string token_text(const Tokenizer* tok, int32_t id) {
  if (!tok) return "token_id:" + std::to_string(id);
  return utf8_sanitize(tok->token_bytes(id));
}

OJson token_bytes_json(const Tokenizer* tok, int32_t id) {
  OJson b = OJson::array();
  if (!tok) return b;
  for (unsigned char c : tok->token_bytes(id)) b.push_back(int(c));
  return b;
}

namespace {
double clamp_lp(float lp) { return std::isfinite(lp) ? double(lp) : -9999.0; }
}  // namespace

OJson chat_logprobs_json(const Tokenizer* tok, const std::vector<TokenLogprob>& lps) {
  OJson content = OJson::array();
  for (const auto& lp : lps) {
    OJson e;
    e["token"] = token_text(tok, lp.token_id);
    e["logprob"] = clamp_lp(lp.logprob);
    e["bytes"] = token_bytes_json(tok, lp.token_id);
    OJson top = OJson::array();
    for (const auto& [id, l] : lp.top) {
      top.push_back({{"token", token_text(tok, id)},
                     {"logprob", clamp_lp(l)},
                     {"bytes", token_bytes_json(tok, id)}});
    }
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

OJson completion_logprobs_json(const Tokenizer* tok, const std::vector<TokenLogprob>& lps,
                               int64_t text_offset) {
  OJson tokens = OJson::array(), token_lps = OJson::array(), tops = OJson::array(),
        offsets = OJson::array();
  int64_t off = text_offset;
  for (const auto& lp : lps) {
    std::string t = token_text(tok, lp.token_id);
    tokens.push_back(t);
    token_lps.push_back(clamp_lp(lp.logprob));
    OJson top = OJson::object();
    for (const auto& [id, l] : lp.top) top[token_text(tok, id)] = clamp_lp(l);
    tops.push_back(std::move(top));
    offsets.push_back(off);
    off += static_cast<int64_t>(t.size());
  }
  OJson j;
  j["text_offset"] = std::move(offsets);
  j["token_logprobs"] = std::move(token_lps);
  j["tokens"] = std::move(tokens);
  j["top_logprobs"] = std::move(tops);
  return j;
}

OJson tool_calls_json(const std::vector<ToolCall>& calls) {
  OJson arr = OJson::array();
  for (const auto& c : calls) {
    arr.push_back({{"id", c.id},
                   {"type", "function"},
                   {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return arr;
}

OJson tool_call_delta_json(const ToolCallDelta& d) {
  OJson j;
  j["index"] = d.index;
  if (!d.id.empty()) {
    j["id"] = d.id;
    j["type"] = "function";
    j["function"] = {{"name", d.name}, {"arguments", ""}};
  } else {
    j["function"] = {{"arguments", d.arguments}};
  }
  return j;
}

}  // namespace yun::serve
