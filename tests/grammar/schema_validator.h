// A small JSON Schema validator for the tests and the fuzz target, written
// apart from the grammar module (it shares no code with it) so that the two
// can disagree: every output the grammar produces must pass here.
//
// Implements true JSON Schema semantics for: type, enum, const, anyOf,
// oneOf (exactly one), allOf, $ref ("#..." pointers), properties, required,
// additionalProperties (absent = allowed), items, prefixItems, minItems,
// maxItems, minLength, maxLength (code points), pattern (std::regex
// ECMAScript, search), format (date, time, date-time, uuid, email, ipv4),
// minimum, maximum, exclusiveMinimum, exclusiveMaximum.
#pragma once

#include <cmath>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace yun::test {

class SchemaValidator {
 public:
  explicit SchemaValidator(nlohmann::json root) : root_(std::move(root)) {}

  // Empty when `v` is valid, else a reason.
  std::string validate(const nlohmann::json& v) const { return check(root_, v, "#"); }

 private:
  static size_t codepoints(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  const nlohmann::json* deref(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    std::string p = ref.substr(1);
    try {
      return &root_.at(nlohmann::json::json_pointer(p));
    } catch (...) {
      return nullptr;
    }
  }

  static bool is_type(const nlohmann::json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") {
      if (v.is_number_integer()) return true;
      return v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>();
    }
    return false;
  }

  static bool format_ok(const std::string& f, const std::string& s) {
    static const std::regex date(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))");
    static const std::regex time(R"(([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|z|[+-]([01]\d|2[0-3]):[0-5]\d))");
    static const std::regex uuid(R"([0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})");
    static const std::regex email(R"([^@\s"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)");
    static const std::regex ipv4(R"(((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))");
    if (f == "date") return std::regex_match(s, date);
    if (f == "time") return std::regex_match(s, time);
    if (f == "date-time") {
      size_t t = s.find_first_of("Tt");
      return t != std::string::npos && std::regex_match(s.substr(0, t), date) && std::regex_match(s.substr(t + 1), time);
    }
    if (f == "uuid") return std::regex_match(s, uuid);
    if (f == "email") return std::regex_match(s, email);
    if (f == "ipv4") return std::regex_match(s, ipv4);
    return true;
  }

  std::string check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": false schema";
    if (!s.is_object()) return at + ": bad schema";
    if (s.contains("$ref")) {
      const nlohmann::json* t = deref(s["$ref"].get<std::string>());
      if (!t) return at + ": unresolved $ref";
      std::string e = check(*t, v, at);
      if (!e.empty()) return e;
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string()) ok = is_type(v, s["type"].get<std::string>());
      else for (const auto& t : s["type"]) ok = ok || is_type(v, t.get<std::string>());
      if (!ok) return at + ": wrong type";
    }
    if (s.contains("const") && s["const"] != v) return at + ": not the const";
    if (s.contains("enum")) {
      bool ok = false;
      for (const auto& e : s["enum"]) ok = ok || e == v;
      if (!ok) return at + ": not in enum";
    }
    if (s.contains("allOf")) {
      for (const auto& sub : s["allOf"]) {
        std::string e = check(sub, v, at + "/allOf");
        if (!e.empty()) return e;
      }
    }
    if (s.contains("anyOf")) {
      bool ok = false;
      for (const auto& sub : s["anyOf"]) ok = ok || check(sub, v, at).empty();
      if (!ok) return at + ": no anyOf branch matches";
    }
    if (s.contains("oneOf")) {
      int n = 0;
      for (const auto& sub : s["oneOf"]) n += check(sub, v, at).empty();
      if (n != 1) return at + ": " + std::to_string(n) + " oneOf branches match";
    }
    if (v.is_string()) {
      const std::string str = v.get<std::string>();
      size_t n = codepoints(str);
      if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": too short";
      if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": too long";
      if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) {
        return at + ": pattern mismatch";
      }
      if (s.contains("format") && !format_ok(s["format"].get<std::string>(), str)) return at + ": bad format";
    }
    if (v.is_number()) {
      double x = v.get<double>();
      auto num = [&](const char* k, double* out) {
        if (!s.contains(k) || !s[k].is_number()) return false;
        *out = s[k].get<double>();
        return true;
      };
      double b;
      if (num("minimum", &b) && !(x >= b)) return at + ": below minimum";
      if (num("maximum", &b) && !(x <= b)) return at + ": above maximum";
      if (num("exclusiveMinimum", &b) && !(x > b)) return at + ": not above exclusiveMinimum";
      if (num("exclusiveMaximum", &b) && !(x < b)) return at + ": not below exclusiveMaximum";
    }
    if (v.is_array()) {
      size_t n = v.size();
      if (s.contains("minItems") && n < s["minItems"].get<size_t>()) return at + ": too few items";
      if (s.contains("maxItems") && n > s["maxItems"].get<size_t>()) return at + ": too many items";
      size_t k = 0;
      if (s.contains("prefixItems")) {
        for (; k < s["prefixItems"].size() && k < n; ++k) {
          std::string e = check(s["prefixItems"][k], v[k], at + "/" + std::to_string(k));
          if (!e.empty()) return e;
        }
        k = s["prefixItems"].size();
      }
      if (s.contains("items")) {
        for (size_t i = k; i < n; ++i) {
          std::string e = check(s["items"], v[i], at + "/" + std::to_string(i));
          if (!e.empty()) return e;
        }
      }
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const auto& r : s["required"]) {
          if (!v.contains(r.get<std::string>())) return at + ": missing " + r.get<std::string>();
        }
      }
      for (auto it = v.begin(); it != v.end(); ++it) {
        bool declared = s.contains("properties") && s["properties"].contains(it.key());
        if (declared) {
          std::string e = check(s["properties"][it.key()], it.value(), at + "/" + it.key());
          if (!e.empty()) return e;
        } else if (s.contains("additionalProperties")) {
          std::string e = check(s["additionalProperties"], it.value(), at + "/" + it.key());
          if (!e.empty()) return at + ": additional property " + it.key() + ": " + e;
        }
      }
    }
    return "";
  }

  nlohmann::json root_;
};

}  // namespace yun::test
