#include "yun/text/normalizer.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

namespace yun::text {

namespace {

Status add_steps(const nlohmann::json& j, std::vector<Normalizer::Kind>& steps) {
  if (j.is_null()) return Status::ok();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return invalid_argument("normalizer: expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  using K = Normalizer::Kind;
  if (type == "NFC") {
    steps.push_back(K::kNfc);
  } else if (type == "NFD") {
    steps.push_back(K::kNfd);
  } else if (type == "NFKC") {
    steps.push_back(K::kNfkc);
  } else if (type == "NFKD") {
    steps.push_back(K::kNfkd);
  } else if (type == "Lowercase") {
    steps.push_back(K::kLowercase);
  } else if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array()) {
      return invalid_argument("normalizer: Sequence without a \"normalizers\" array");
    }
    for (const auto& sub : j["normalizers"]) YUN_RETURN_IF_ERROR(add_steps(sub, steps));
  } else {
    return unimplemented("normalizer: unsupported type \"" + type + "\"");
  }
  return Status::ok();
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (uint8_t(c) >= 0x80) return false;
  }
  return true;
}

void map_with(std::string& s, int options) {
  utf8proc_uint8_t* dst = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    utf8proc_ssize_t(s.size()), &dst,
                                    utf8proc_option_t(options));
  if (n >= 0 && dst) s.assign(reinterpret_cast<const char*>(dst), size_t(n));
  std::free(dst);
}

// Code points that NFC never changes and that never combine with what comes
// before them: ccc 0, no canonical decomposition, not a later element of any
// canonical decomposition (so never the second half of a composition). Text
// can be cut before such a code point without changing its NFC form.
class InertTable {
 public:
  InertTable() : bits_((kMax + 63) / 64, ~0ull) {
    for (char32_t cp = 0x80; cp < kMax; ++cp) {
      const utf8proc_property_t* p = utf8proc_get_property(utf8proc_int32_t(cp));
      if (p->combining_class != 0) clear(cp);
      if (p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {
        clear(cp);
        utf8proc_int32_t buf[8];
        int last = 0;
        auto n = utf8proc_decompose_char(utf8proc_int32_t(cp), buf, 8,
                                         utf8proc_option_t(UTF8PROC_DECOMPOSE), &last);
        for (utf8proc_ssize_t k = 1; k < n && k < 8; ++k) clear(char32_t(buf[k]));
      }
    }
    for (char32_t cp = 0x1161; cp <= 0x1175; ++cp) clear(cp);  // Hangul V jamo
    for (char32_t cp = 0x11A8; cp <= 0x11C2; ++cp) clear(cp);  // Hangul T jamo
  }
  bool inert(char32_t cp) const { return cp < kMax && ((bits_[cp >> 6] >> (cp & 63)) & 1); }

 private:
  static constexpr char32_t kMax = 0x110000;
  void clear(char32_t cp) {
    if (cp < kMax) bits_[cp >> 6] &= ~(1ull << (cp & 63));
  }
  std::vector<uint64_t> bits_;
};

const InertTable& inert_table() {
  static const InertTable t;
  return t;
}

// Decodes the (valid) UTF-8 character at *pos.
char32_t decode_at(std::string_view s, size_t* pos) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()) + *pos,
                            utf8proc_ssize_t(s.size() - *pos), &cp);
  *pos += n > 0 ? size_t(n) : 1;
  return n > 0 ? char32_t(cp) : 0xFFFD;
}

// NFC, running utf8proc only over the regions around code points that are not
// inert (most text, CJK included, is copied through).
void nfc(std::string& s) {
  const InertTable& t = inert_table();
  std::string_view in(s);
  std::string out;
  size_t copied = 0, boundary = 0, i = 0;
  bool changed = false;
  while (i < in.size()) {
    if (uint8_t(in[i]) < 0x80) {
      boundary = i++;
      continue;
    }
    size_t start = i;
    if (t.inert(decode_at(in, &i))) {
      boundary = start;
      continue;
    }
    size_t j = i;
    while (j < in.size()) {
      size_t k = j;
      if (uint8_t(in[k]) < 0x80 || t.inert(decode_at(in, &k))) break;
      j = k;
    }
    if (!changed) out.reserve(s.size() + 16);
    changed = true;
    out.append(in.substr(copied, boundary - copied));
    std::string region(in.substr(boundary, j - boundary));
    map_with(region, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    out += region;
    copied = boundary = i = j;
  }
  if (!changed) return;
  out.append(in.substr(copied));
  s.swap(out);
}

void lowercase(std::string& s) {
  if (is_ascii(s)) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    }
    return;
  }
  std::string out;
  out.reserve(s.size());
  utf8proc_ssize_t i = 0, n = utf8proc_ssize_t(s.size());
  auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  while (i < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(p + i, n - i, &cp);
    if (len <= 0) {
      out += s[size_t(i)];
      ++i;
      continue;
    }
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(cp), buf);
    out.append(reinterpret_cast<const char*>(buf), size_t(m));
    i += len;
  }
  s.swap(out);
}

}  // namespace

Result<Normalizer> Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  YUN_RETURN_IF_ERROR(add_steps(j, n.steps_));
  return n;
}

void Normalizer::apply(std::string_view in, std::string& out) const {
  out.assign(in.data(), in.size());
  if (steps_.empty()) return;
  const bool ascii = is_ascii(in);
  for (Kind k : steps_) {
    switch (k) {
      case Kind::kNfc:
        if (!ascii) nfc(out);
        break;
      case Kind::kNfd:
        if (!ascii) map_with(out, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
        break;
      case Kind::kNfkc:
        if (!ascii) map_with(out, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
        break;
      case Kind::kNfkd:
        if (!ascii) map_with(out, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
        break;
      case Kind::kLowercase:
        lowercase(out);
        break;
    }
  }
}

}  // namespace yun::text
