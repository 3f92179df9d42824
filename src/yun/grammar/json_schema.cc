#include "yun/grammar/json_schema.h"

#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"
#include "yun/grammar/json_rules.h"
#include "yun/grammar/regex.h"

namespace yun::grammar {

namespace {

using Json = nlohmann::ordered_json;
using Seq = GrammarBuilder::Seq;

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> k = {
      "title", "description", "default", "examples", "$schema", "$id", "$comment", "$anchor",
      "deprecated", "readOnly", "writeOnly", "contentEncoding", "contentMediaType", "$defs",
      "definitions", "discriminator", "example", "nullable_hint"};
  return k;
}

const std::set<std::string>& supported_keywords() {
  static const std::set<std::string> k = {
      "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required",
      "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "minLength",
      "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
  return k;
}

// Validation keywords of JSON Schema that the grammar does not enforce.
const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> k = {
      "not", "if", "then", "else", "uniqueItems", "multipleOf", "patternProperties", "propertyNames",
      "minProperties", "maxProperties", "contains", "minContains", "maxContains", "dependentRequired",
      "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems", "additionalItems",
      "$dynamicRef", "$recursiveRef", "$dynamicAnchor", "$recursiveAnchor", "contentSchema", "nullable"};
  return k;
}

const char* kTypes[] = {"null", "boolean", "object", "array", "string", "number", "integer"};

std::string pointer_token(const std::string& k) {
  std::string out;
  for (char c : k) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// Format -> regex over the decoded string.
const char* format_regex(const std::string& f) {
  static const std::map<std::string, const char*> m = {
      {"date", "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"},
      {"time", "^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"},
      {"date-time",
       "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
       "(\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"},
      {"uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
      {"email", "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"},
      {"ipv4", "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"},
  };
  auto it = m.find(f);
  return it == m.end() ? nullptr : it->second;
}

class SchemaCompiler {
 public:
  SchemaCompiler(GrammarBuilder& b, const JsonOptions& o) : b_(b), j_(b, o) {}

  Result<int32_t> run(std::string_view text) {
    auto parsed = parse_json_bounded<Json>(text, JsonLimits::request());
    if (!parsed) return invalid_argument("json_schema: " + parsed.status().message());
    root_ = std::move(parsed).value();
    Symbol s = compile(root_, "#");
    if (!err_.is_ok()) return err_;
    if (!b_.ok()) return b_.status();
    return b_.seq_rule("root", {s});
  }

 private:
  Symbol fail(const std::string& where, const std::string& what) {
    if (err_.is_ok()) err_ = invalid_argument("json_schema: " + what + " at " + where);
    return b_.bytes(ByteSet());
  }
  bool failed() const { return !err_.is_ok(); }

  const Json* resolve(const std::string& ref, const std::string& where) {
    if (ref.empty() || ref[0] != '#') {
      fail(where, "$ref '" + ref + "' points outside the schema (only \"#...\" references)");
      return nullptr;
    }
    const Json* cur = &root_;
    size_t i = 1;
    if (i < ref.size() && ref[i] != '/') {
      fail(where, "$ref '" + ref + "' is not a JSON pointer");
      return nullptr;
    }
    while (i < ref.size()) {
      size_t j = ref.find('/', i + 1);
      std::string tok = ref.substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
      std::string key;
      for (size_t k = 0; k < tok.size(); ++k) {
        if (tok[k] == '~' && k + 1 < tok.size()) {
          key += tok[k + 1] == '1' ? '/' : '~';
          ++k;
        } else {
          key += tok[k];
        }
      }
      if (cur->is_object() && cur->contains(key)) {
        cur = &(*cur)[key];
      } else if (cur->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(key) < cur->size()) {
        cur = &(*cur)[std::stoul(key)];
      } else {
        fail(where, "$ref '" + ref + "' not found");
        return nullptr;
      }
      i = j == std::string::npos ? ref.size() : j;
    }
    return cur;
  }

  // Checks the keywords of one schema object.
  bool check_keywords(const Json& s, const std::string& where) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      if (unsupported_keywords().count(k)) {
        fail(where, "unsupported keyword '" + k + "'");
        return false;
      }
    }
    return true;
  }

  static bool has_validation(const Json& s, std::initializer_list<const char*> except) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      bool skip = false;
      for (const char* e : except) skip = skip || k == e;
      if (!skip && supported_keywords().count(k)) return true;
    }
    return false;
  }

  Symbol compile(const Json& s, const std::string& where) {
    if (failed() || !b_.ok()) return b_.bytes(ByteSet());
    if (++depth_ > 200) return fail(where, "schema nested too deep");
    Symbol out = compile_inner(s, where);
    --depth_;
    return out;
  }

  Symbol ref_symbol(const std::string& ref, const std::string& where) {
    auto it = refs_.find(ref);
    if (it != refs_.end()) return GrammarBuilder::ref(it->second);
    const Json* target = resolve(ref, where);
    if (!target) return b_.bytes(ByteSet());
    int32_t r = b_.new_rule("ref:" + ref);
    refs_[ref] = r;
    Symbol body = compile(*target, ref);
    b_.add_alt(r, {body});
    return GrammarBuilder::ref(r);
  }

  Symbol compile_inner(const Json& s, const std::string& where) {
    if (s.is_boolean()) return s.get<bool>() ? j_.any_value() : b_.bytes(ByteSet());
    if (!s.is_object()) return fail(where, "a schema must be an object or a boolean");
    if (!check_keywords(s, where)) return b_.bytes(ByteSet());
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) return fail(where, "'$ref' must be a string");
      if (has_validation(s, {"$ref"})) {
        // Draft 2020-12 allows siblings: treat as allOf [ref, rest].
        Json rest = s;
        rest.erase("$ref");
        const Json* target = resolve(s["$ref"].get<std::string>(), where);
        if (!target) return b_.bytes(ByteSet());
        Json merged;
        if (!merge(*target, rest, where + "/$ref", &merged)) return b_.bytes(ByteSet());
        return compile(merged, where);
      }
      return ref_symbol(s["$ref"].get<std::string>(), where);
    }
    if (s.contains("allOf")) {
      const Json& all = s["allOf"];
      if (!all.is_array() || all.empty()) return fail(where, "'allOf' must be a non-empty array");
      Json merged = s;
      merged.erase("allOf");
      for (size_t i = 0; i < all.size(); ++i) {
        Json next;
        if (!merge(merged, all[i], where + "/allOf/" + std::to_string(i), &next)) return b_.bytes(ByteSet());
        merged = std::move(next);
      }
      return compile(merged, where);
    }
    for (const char* kw : {"anyOf", "oneOf"}) {
      if (!s.contains(kw)) continue;
      const Json& alts = s[kw];
      if (!alts.is_array() || alts.empty()) return fail(where, std::string("'") + kw + "' must be a non-empty array");
      Json rest = s;
      rest.erase(kw);
      bool siblings = has_validation(rest, {});
      std::vector<Seq> seqs;
      for (size_t i = 0; i < alts.size(); ++i) {
        std::string w = where + "/" + kw + "/" + std::to_string(i);
        if (siblings) {
          Json m;
          if (!merge(rest, alts[i], w, &m)) return b_.bytes(ByteSet());
          seqs.push_back({compile(m, w)});
        } else {
          seqs.push_back({compile(alts[i], w)});
        }
      }
      return GrammarBuilder::ref(b_.choice(kw, std::move(seqs)));
    }
    // The types allowed.
    std::set<std::string> types;
    if (s.contains("type")) {
      const Json& t = s["type"];
      auto add = [&](const Json& v) {
        if (!v.is_string()) return false;
        std::string n = v.get<std::string>();
        for (const char* k : kTypes) {
          if (n == k) { types.insert(n); return true; }
        }
        return false;
      };
      if (t.is_array()) {
        for (const Json& v : t) if (!add(v)) return fail(where + "/type", "unknown type " + v.dump());
      } else if (!add(t)) {
        return fail(where + "/type", "unknown type " + t.dump());
      }
    } else {
      for (const char* k : kTypes) types.insert(k);
    }
    if (types.count("number")) types.erase("integer");  // number covers it
    if (s.contains("enum") || s.contains("const")) return enum_values(s, types, where);
    std::vector<Seq> alts;
    for (const std::string& t : types) {
      alts.push_back({typed(s, t, where)});
      if (failed()) return b_.bytes(ByteSet());
    }
    if (alts.size() == 1) return alts[0][0];
    return GrammarBuilder::ref(b_.choice("types", std::move(alts)));
  }

  static bool json_is_type(const Json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") {
      return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    }
    if (t == "number") return v.is_number();
    return false;
  }

  Symbol enum_values(const Json& s, const std::set<std::string>& types, const std::string& where) {
    std::vector<Json> values;
    if (s.contains("const")) values.push_back(s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) return fail(where, "'enum' must be an array");
      std::vector<Json> ev(s["enum"].begin(), s["enum"].end());
      if (s.contains("const")) {
        std::vector<Json> keep;
        for (const Json& v : ev) if (v == values[0]) keep.push_back(v);
        values = keep;
      } else {
        values = ev;
      }
    }
    if (has_validation(s, {"enum", "const", "type"})) {
      return fail(where, "'enum'/'const' together with other validation keywords");
    }
    std::vector<Seq> alts;
    for (const Json& v : values) {
      bool ok = false;
      for (const std::string& t : types) ok = ok || json_is_type(v, t);
      if (ok) alts.push_back(b_.literal(v.dump(-1, ' ', false, Json::error_handler_t::replace)));
    }
    if (alts.empty()) return b_.bytes(ByteSet());
    return GrammarBuilder::ref(b_.choice("enum", std::move(alts)));
  }

  Symbol typed(const Json& s, const std::string& t, const std::string& where) {
    if (t == "null") return j_.literal_rule("null");
    if (t == "boolean") return GrammarBuilder::ref(b_.choice("boolean", {b_.literal("true"), b_.literal("false")}));
    if (t == "string") return string_schema(s, where);
    if (t == "number" || t == "integer") return number_schema(s, t == "integer", where);
    if (t == "array") return array_schema(s, where);
    return object_schema(s, where);
  }

  bool get_count(const Json& s, const char* k, const std::string& where, int64_t* out) {
    if (!s.contains(k)) return false;
    const Json& v = s[k];
    if (!v.is_number() || v.get<double>() < 0 || std::floor(v.get<double>()) != v.get<double>()) {
      fail(where, std::string("'") + k + "' must be a non-negative integer");
      return false;
    }
    *out = int64_t(std::min(v.get<double>(), 1e9));
    return true;
  }

  Symbol string_schema(const Json& s, const std::string& where) {
    int64_t min = 0, max = -1;
    get_count(s, "minLength", where, &min);
    get_count(s, "maxLength", where, &max);
    if (failed()) return b_.bytes(ByteSet());
    if (max >= 0 && max > 100000) return fail(where, "'maxLength' above 100000");
    bool lengths = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("format")) {
      if (!s["format"].is_string()) return fail(where, "'format' must be a string");
      std::string f = s["format"].get<std::string>();
      const char* re = format_regex(f);
      if (!re) return fail(where + "/format", "unsupported format '" + f + "' (supported: date, time, date-time, uuid, email, ipv4)");
      if (lengths || s.contains("pattern")) return fail(where, "'format' together with 'pattern'/'minLength'/'maxLength'");
      return json_string_regex(re, false, where + "/format");
    }
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return fail(where, "'pattern' must be a string");
      if (lengths) return fail(where, "'pattern' together with 'minLength'/'maxLength'");
      return json_string_regex(s["pattern"].get<std::string>(), true, where + "/pattern");
    }
    if (max >= 0 && max < min) return b_.bytes(ByteSet());
    return j_.string_len(min, max);
  }

  Symbol json_string_regex(const std::string& re, bool search, const std::string& where) {
    auto r = add_regex(b_, re, RegexMode::kJsonString, search);
    if (!r) return fail(where, r.status().message());
    return GrammarBuilder::ref(b_.seq_rule("pattern", {b_.byte('"'), GrammarBuilder::ref(*r), b_.byte('"')}));
  }

  Symbol number_schema(const Json& s, bool integer, const std::string& where) {
    std::optional<JsonRules::Bound> lo, hi;
    const double kLimit = 1e17;
    auto read = [&](const char* k, bool is_lo, bool exclusive) -> bool {
      if (!s.contains(k)) return true;
      const Json& v = s[k];
      if (v.is_boolean()) return true;  // draft-04 style flag, read below
      if (!v.is_number()) { fail(where, std::string("'") + k + "' must be a number"); return false; }
      double d = v.get<double>();
      if (std::fabs(d) > kLimit) { fail(where, std::string("'") + k + "' beyond 1e17"); return false; }
      if (!integer && std::floor(d) != d) {
        fail(where, std::string("'") + k + "' with a fractional bound on a number (only integer bounds are enforced)");
        return false;
      }
      JsonRules::Bound b;
      if (integer) {
        // Integers: make the bound inclusive.
        double x = is_lo ? (exclusive ? std::floor(d) + 1 : std::ceil(d)) : (exclusive ? std::ceil(d) - 1 : std::floor(d));
        b = {int64_t(x), false};
      } else {
        b = {int64_t(d), exclusive};
      }
      auto& slot = is_lo ? lo : hi;
      if (!slot) {
        slot = b;
      } else if (is_lo ? (b.v > slot->v || (b.v == slot->v && b.exclusive)) : (b.v < slot->v || (b.v == slot->v && b.exclusive))) {
        slot = b;
      }
      return true;
    };
    bool excl_min_flag = s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_boolean() && s["exclusiveMinimum"].get<bool>();
    bool excl_max_flag = s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_boolean() && s["exclusiveMaximum"].get<bool>();
    if (!read("minimum", true, excl_min_flag) || !read("maximum", false, excl_max_flag) ||
        !read("exclusiveMinimum", true, true) || !read("exclusiveMaximum", false, true)) {
      return b_.bytes(ByteSet());
    }
    if (!integer && !lo && !hi) return j_.number();
    return j_.bounded(lo, hi, !integer);
  }

  Symbol array_schema(const Json& s, const std::string& where) {
    int64_t min = 0, max = -1;
    get_count(s, "minItems", where, &min);
    get_count(s, "maxItems", where, &max);
    if (failed()) return b_.bytes(ByteSet());
    std::vector<Symbol> prefix;
    if (s.contains("prefixItems")) {
      const Json& p = s["prefixItems"];
      if (!p.is_array()) return fail(where, "'prefixItems' must be an array");
      for (size_t i = 0; i < p.size(); ++i) prefix.push_back(compile(p[i], where + "/prefixItems/" + std::to_string(i)));
    }
    std::optional<Symbol> item;  // nullopt: no more items
    if (s.contains("items")) {
      const Json& it = s["items"];
      if (it.is_array()) return fail(where, "'items' as an array (draft-07 tuples: use prefixItems)");
      if (!(it.is_boolean() && !it.get<bool>())) item = compile(it, where + "/items");
    } else {
      item = j_.any_value();
    }
    if (failed()) return b_.bytes(ByteSet());
    const int64_t k = int64_t(prefix.size());
    if (!item) max = max < 0 ? k : std::min(max, k);
    if (max >= 0 && max < min) return b_.bytes(ByteSet());
    if (std::max(min, max) > 10000) return fail(where, "'minItems'/'maxItems' above 10000");
    // States: i items written. L = the first state from which all are alike.
    const int64_t L = std::max(k, min);
    const int64_t last = max >= 0 ? max : std::max<int64_t>(L, 1);  // states 1..last
    auto elem = [&](int64_t i) { return i < k ? prefix[size_t(i)] : *item; };
    std::vector<int32_t> after(size_t(last) + 2, -1);  // after[i]: i >= 1 items written
    for (int64_t i = 1; i <= last; ++i) after[size_t(i)] = b_.new_rule("arr_after" + std::to_string(i));
    for (int64_t i = 1; i <= last && b_.ok(); ++i) {
      // after(i) ::= ws ( ']' [i >= min] | ',' ws elem(i) after(i+1) [i < max] )
      std::vector<Seq> tail;
      if (i >= min) tail.push_back({b_.byte(']')});
      if (max < 0 || i < max) {
        Seq more = {b_.byte(',')};
        j_.ws(more);
        more.push_back(elem(i));
        // Unbounded: the states from `last` on are alike (a loop).
        int64_t next = std::min(i + 1, last);
        more.push_back(GrammarBuilder::ref(after[size_t(next)]));
        tail.push_back(std::move(more));
      }
      Seq a;
      j_.ws(a);
      a.push_back(GrammarBuilder::ref(b_.choice("arr_tail", std::move(tail))));
      b_.add_alt(after[size_t(i)], std::move(a));
    }
    std::vector<Seq> first;
    if (min == 0) first.push_back({b_.byte(']')});
    if (max != 0) first.push_back({elem(0), GrammarBuilder::ref(after[1])});
    Seq arr = {b_.byte('[')};
    j_.ws(arr);
    arr.push_back(GrammarBuilder::ref(b_.choice("arr_first", std::move(first))));
    return GrammarBuilder::ref(b_.seq_rule("array", std::move(arr)));
  }

  Symbol object_schema(const Json& s, const std::string& where) {
    struct Prop {
      std::string key_json;
      std::string name;
      Symbol value;
      bool required;
    };
    std::vector<Prop> props;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return fail(where, "'required' must be an array");
      for (const Json& r : s["required"]) {
        if (!r.is_string()) return fail(where, "'required' must list strings");
        required.insert(r.get<std::string>());
      }
    }
    // additionalProperties: absent or false -> none; true -> any value; a schema.
    std::optional<Symbol> extra;
    if (s.contains("additionalProperties")) {
      const Json& ap = s["additionalProperties"];
      if (!(ap.is_boolean() && !ap.get<bool>())) extra = compile(ap, where + "/additionalProperties");
    }
    if (!s.contains("properties") && required.empty() && s.contains("additionalProperties") &&
        s["additionalProperties"].is_boolean() && s["additionalProperties"].get<bool>()) {
      return j_.any_object();  // any keys (escapes too), any values
    }
    std::set<std::string> declared;
    if (s.contains("properties")) {
      const Json& p = s["properties"];
      if (!p.is_object()) return fail(where, "'properties' must be an object");
      for (auto it = p.begin(); it != p.end(); ++it) {
        Prop pr;
        pr.name = it.key();
        pr.key_json = Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace);
        pr.value = compile(it.value(), where + "/properties/" + pointer_token(it.key()));
        pr.required = required.count(it.key()) > 0;
        declared.insert(it.key());
        props.push_back(std::move(pr));
      }
    }
    for (const std::string& r : required) {
      if (declared.count(r)) continue;
      if (!extra) return fail(where, "required property '" + r + "' is not in 'properties' and additionalProperties is false");
      props.push_back(Prop{Json(r).dump(-1, ' ', false, Json::error_handler_t::replace), r, *extra, true});
      declared.insert(r);
    }
    if (failed()) return b_.bytes(ByteSet());
    const size_t n = props.size();
    std::vector<Symbol> kv(n);
    for (size_t i = 0; i < n; ++i) {
      Seq s2 = b_.literal(props[i].key_json);
      j_.ws(s2);
      s2.push_back(b_.byte(':'));
      j_.ws(s2);
      s2.push_back(props[i].value);
      kv[i] = GrammarBuilder::ref(b_.seq_rule("kv:" + props[i].name, std::move(s2)));
    }
    // Extra pairs after the declared ones: ex_after ::= ws ( '}' | ',' ws exkv ex_after ).
    Symbol exkv{}, ex_after{};
    if (extra) {
      Seq s2 = {j_.key_not_in(std::vector<std::string>(declared.begin(), declared.end()))};
      j_.ws(s2);
      s2.push_back(b_.byte(':'));
      j_.ws(s2);
      s2.push_back(*extra);
      exkv = GrammarBuilder::ref(b_.seq_rule("extra_kv", std::move(s2)));
      int32_t ea = b_.new_rule("extra_after");
      Seq more = {b_.byte(',')};
      j_.ws(more);
      more.push_back(exkv);
      more.push_back(GrammarBuilder::ref(ea));
      Seq a;
      j_.ws(a);
      a.push_back(GrammarBuilder::ref(b_.choice("extra_tail", {{b_.byte('}')}, std::move(more)})));
      b_.add_alt(ea, std::move(a));
      ex_after = GrammarBuilder::ref(ea);
    }
    // optional_from[i]: props i..n-1 are all optional.
    std::vector<char> optional_from(n + 1, 1);
    for (size_t i = n; i-- > 0;) optional_from[i] = optional_from[i + 1] && !props[i].required;
    // after[i] ::= ws tail[i]; tail[i] ::= ',' ws kv_j after[j+1] (j >= i, i..j-1 optional) |
    //              '}' [optional_from[i]] | ',' ws exkv ex_after [optional_from[i], extra]
    std::vector<int32_t> after(n + 1);
    for (size_t i = 0; i <= n; ++i) after[i] = b_.new_rule("obj_after" + std::to_string(i));
    for (size_t i = 0; i <= n && b_.ok(); ++i) {
      std::vector<Seq> tail;
      for (size_t j = i; j < n; ++j) {
        Seq more = {b_.byte(',')};
        j_.ws(more);
        more.push_back(kv[j]);
        more.push_back(GrammarBuilder::ref(after[j + 1]));
        tail.push_back(std::move(more));
        if (props[j].required) break;
      }
      if (optional_from[i]) {
        tail.push_back({b_.byte('}')});
        if (extra) {
          Seq more = {b_.byte(',')};
          j_.ws(more);
          more.push_back(exkv);
          more.push_back(ex_after);
          tail.push_back(std::move(more));
        }
      }
      Seq a;
      j_.ws(a);
      a.push_back(GrammarBuilder::ref(b_.choice("obj_tail", std::move(tail))));
      b_.add_alt(after[i], std::move(a));
    }
    std::vector<Seq> first;
    for (size_t j = 0; j < n; ++j) {
      first.push_back({kv[j], GrammarBuilder::ref(after[j + 1])});
      if (props[j].required) break;
    }
    if (optional_from[0]) {
      first.push_back({b_.byte('}')});
      if (extra) first.push_back({exkv, ex_after});
    }
    Seq obj = {b_.byte('{')};
    j_.ws(obj);
    obj.push_back(GrammarBuilder::ref(b_.choice("obj_first", std::move(first))));
    return GrammarBuilder::ref(b_.seq_rule("object", std::move(obj)));
  }

  // allOf: a schema accepting what both accept, for the shapes the grammar
  // can express; false (with an error) otherwise.
  bool merge(const Json& a0, const Json& b0, const std::string& where, Json* out) {
    const Json* a = &a0;
    const Json* b = &b0;
    Json ra, rb;
    // Resolve plain $refs first.
    for (auto [src, dst] : {std::pair{&a, &ra}, std::pair{&b, &rb}}) {
      if ((*src)->is_object() && (*src)->contains("$ref") && (**src)["$ref"].is_string()) {
        const Json* t = resolve((**src)["$ref"].get<std::string>(), where);
        if (!t) return false;
        Json rest = **src;
        rest.erase("$ref");
        if (!merge(*t, rest, where, dst)) return false;
        *src = dst;
      }
    }
    if (a->is_boolean() || b->is_boolean()) {
      bool fa = a->is_boolean() && !a->get<bool>(), fb = b->is_boolean() && !b->get<bool>();
      if (fa || fb) { *out = false; return true; }
      *out = a->is_boolean() ? *b : *a;
      return true;
    }
    if (!a->is_object() || !b->is_object()) { fail(where, "'allOf' member is not a schema"); return false; }
    for (const Json* x : {a, b}) {
      for (const char* k : {"anyOf", "oneOf", "allOf"}) {
        if (x->contains(k)) { fail(where, std::string("'allOf' over '") + k + "' (only objects and scalar keywords merge)"); return false; }
      }
      if (!check_keywords(*x, where)) return false;
    }
    Json m = *a;
    for (auto it = b->begin(); it != b->end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      if (!m.contains(k)) {
        m[k] = v;
        continue;
      }
      Json& mv = m[k];
      if (mv == v) continue;
      if (k == "type") {
        auto list = [](const Json& t) {
          std::set<std::string> s;
          if (t.is_string()) s.insert(t.get<std::string>());
          else for (const Json& x : t) if (x.is_string()) s.insert(x.get<std::string>());
          if (s.count("number")) s.insert("integer");
          return s;
        };
        std::set<std::string> sa = list(mv), sb = list(v), both;
        for (const std::string& t : sa) if (sb.count(t)) both.insert(t);
        if (both.count("number") && !(sa.count("number") && sb.count("number"))) both.erase("number");
        if (both.empty()) { *out = false; return true; }
        Json t = Json::array();
        for (const std::string& x : both) t.push_back(x);
        mv = t;
      } else if (k == "required") {
        std::set<std::string> r;
        for (const Json& x : mv) r.insert(x.get<std::string>());
        for (const Json& x : v) r.insert(x.get<std::string>());
        mv = Json::array();
        for (const std::string& x : r) mv.push_back(x);
      } else if (k == "properties") {
        for (auto p = v.begin(); p != v.end(); ++p) {
          if (!mv.contains(p.key())) {
            mv[p.key()] = p.value();
          } else {
            Json pm;
            if (!merge(mv[p.key()], p.value(), where + "/properties/" + pointer_token(p.key()), &pm)) return false;
            mv[p.key()] = pm;
          }
        }
      } else if (k == "minimum" || k == "minLength" || k == "minItems" || k == "exclusiveMinimum") {
        if (v.is_number() && mv.is_number()) mv = std::max(mv.get<double>(), v.get<double>());
        else { fail(where, "'allOf' with conflicting '" + k + "'"); return false; }
      } else if (k == "maximum" || k == "maxLength" || k == "maxItems" || k == "exclusiveMaximum") {
        if (v.is_number() && mv.is_number()) mv = std::min(mv.get<double>(), v.get<double>());
        else { fail(where, "'allOf' with conflicting '" + k + "'"); return false; }
      } else if (k == "additionalProperties") {
        if ((mv.is_boolean() && !mv.get<bool>()) || (v.is_boolean() && !v.get<bool>())) mv = false;
        else if (mv.is_boolean()) mv = v;
        else if (!v.is_boolean()) {
          Json am;
          if (!merge(mv, v, where + "/additionalProperties", &am)) return false;
          mv = am;
        }
      } else if (annotation_keywords().count(k) || !supported_keywords().count(k)) {
        continue;
      } else if (k == "items") {
        Json im;
        if (!merge(mv, v, where + "/items", &im)) return false;
        mv = im;
      } else {
        fail(where, "'allOf' with two different '" + k + "'");
        return false;
      }
    }
    // A property declared by one side only must be allowed by the other's
    // additionalProperties: explicitly false there, the object cannot have it.
    for (const Json* x : {a, b}) {
      const Json* other = x == a ? b : a;
      if (!x->contains("properties") || !(*x)["properties"].is_object()) continue;
      if (!other->contains("additionalProperties")) continue;
      const Json& ap = (*other)["additionalProperties"];
      for (auto p = (*x)["properties"].begin(); p != (*x)["properties"].end(); ++p) {
        if (other->contains("properties") && (*other)["properties"].contains(p.key())) continue;
        if (ap.is_boolean()) {
          if (!ap.get<bool>()) m["properties"].erase(p.key());
        } else {
          Json pm;
          if (!merge(m["properties"][p.key()], ap, where + "/additionalProperties", &pm)) return false;
          m["properties"][p.key()] = pm;
        }
      }
    }
    *out = m;
    return true;
  }

  GrammarBuilder& b_;
  JsonRules j_;
  Json root_;
  Status err_;
  std::map<std::string, int32_t> refs_;
  int depth_ = 0;
};

}  // namespace

Result<int32_t> add_json_schema(GrammarBuilder& b, std::string_view schema_text, const JsonOptions& options) {
  SchemaCompiler c(b, options);
  return c.run(schema_text);
}

}  // namespace yun::grammar
