// jinja string helpers (see jinja_strings.h); case mapping through utf8proc.
#include "yun/text/jinja_strings.h"

#include <utf8proc.h>

#include "yun/text/jinja_value.h"

namespace yun::jinja {
namespace {

std::vector<int32_t> decode(const std::string& s) {
  std::vector<int32_t> cps;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = utf8proc_ssize_t(s.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: keep it as U+FFFD-free raw byte code
      cp = 0xFFFD;
      n = 1;
    }
    cps.push_back(cp);
    p += n;
    left -= n;
  }
  return cps;
}

std::string encode(const std::vector<int32_t>& cps) {
  std::string out;
  utf8proc_uint8_t buf[8];
  for (int32_t cp : cps) {
    utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<char*>(buf), size_t(n));
  }
  return out;
}

bool is_ws(int32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85 ||
         cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_cased_letter(int32_t cp) {
  auto c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

}  // namespace

std::string str_upper(const std::string& s) {
  auto cps = decode(s);
  for (auto& cp : cps) cp = utf8proc_toupper(cp);
  return encode(cps);
}

std::string str_lower(const std::string& s) {
  auto cps = decode(s);
  for (auto& cp : cps) cp = utf8proc_tolower(cp);
  return encode(cps);
}

std::string str_title(const std::string& s) {
  auto cps = decode(s);
  bool prev_cased = false;
  for (auto& cp : cps) {
    bool cased = is_cased_letter(cp);
    cp = prev_cased ? utf8proc_tolower(cp) : utf8proc_toupper(cp);
    prev_cased = cased;
  }
  return encode(cps);
}

std::string jinja_title(const std::string& s) {
  auto cps = decode(s);
  bool start = true;
  for (auto& cp : cps) {
    bool sep = is_ws(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    if (sep) {
      start = true;
      continue;
    }
    cp = start ? utf8proc_toupper(cp) : utf8proc_tolower(cp);
    start = false;
  }
  return encode(cps);
}

std::string str_capitalize(const std::string& s) {
  auto cps = decode(s);
  for (size_t k = 0; k < cps.size(); ++k) cps[k] = k == 0 ? utf8proc_toupper(cps[k]) : utf8proc_tolower(cps[k]);
  return encode(cps);
}

std::string str_strip(const std::string& s, const std::string* chars, bool left, bool right) {
  auto cps = decode(s);
  std::vector<int32_t> set;
  if (chars) set = decode(*chars);
  auto strip_it = [&](int32_t cp) {
    if (!chars) return is_ws(cp);
    for (int32_t c : set) {
      if (c == cp) return true;
    }
    return false;
  };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip_it(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cps[e - 1])) --e;
  }
  return encode(std::vector<int32_t>(cps.begin() + long(b), cps.begin() + long(e)));
}

std::vector<std::string> str_split(const std::string& s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) fail("empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
      size_t q = s.find(*sep, pos);
      if (q == std::string::npos) break;
      out.push_back(s.substr(pos, q - pos));
      pos = q + sep->size();
    }
    out.push_back(s.substr(pos));
    return out;
  }
  auto cps = decode(s);
  size_t k = 0;
  while (k < cps.size()) {
    while (k < cps.size() && is_ws(cps[k])) ++k;
    if (k >= cps.size()) break;
    if (maxsplit >= 0 && int64_t(out.size()) >= maxsplit) {
      size_t e = cps.size();
      while (e > k && is_ws(cps[e - 1])) --e;
      out.push_back(encode(std::vector<int32_t>(cps.begin() + long(k), cps.begin() + long(e))));
      break;
    }
    size_t start = k;
    while (k < cps.size() && !is_ws(cps[k])) ++k;
    out.push_back(encode(std::vector<int32_t>(cps.begin() + long(start), cps.begin() + long(k))));
  }
  return out;
}

std::string str_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  if (from.empty()) {
    auto chars = utf8_chars(s);
    int64_t done = 0;
    for (const auto& c : chars) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += c;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t q = s.find(from, pos);
    if (q == std::string::npos) break;
    out.append(s, pos, q - pos);
    out += to;
    pos = q + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

int64_t str_word_count(const std::string& s) {
  int64_t n = 0;
  bool in_word = false;
  for (int32_t cp : decode(s)) {
    auto c = utf8proc_category(cp);
    bool w = cp == '_' || (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
             (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return n;
}

int64_t str_find(const std::string& s, const std::string& sub) {
  size_t q = s.find(sub);
  if (q == std::string::npos) return -1;
  return int64_t(utf8_length(s.substr(0, q)));
}

}  // namespace yun::jinja
