#include "yun/text/added_tokens.h"

#include <algorithm>
#include <cstring>

#include <utf8proc.h>

#include "yun/text/byte_level.h"

namespace yun::text {

namespace {

bool is_space_cp(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  auto cat = utf8proc_category(utf8proc_int32_t(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP || cp == 0x85;
}

bool is_word_cp(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  auto cat = utf8proc_category(utf8proc_int32_t(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
         cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
         cat == UTF8PROC_CATEGORY_PC;
}

// The code point ending just before byte `pos` (pos > 0).
char32_t prev_code_point(std::string_view s, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (uint8_t(s[start]) & 0xC0) == 0x80 && pos - start < 4) --start;
  size_t p = start;
  return next_code_point(s, &p);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<const AddedToken*> tokens) {
  for (const AddedToken* t : tokens) {
    if (!t->content.empty()) tokens_.push_back(t);
  }
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken* a, const AddedToken* b) {
    return a->content.size() > b->content.size();
  });
  for (size_t i = 0; i < tokens_.size(); ++i) {
    by_first_[uint8_t(tokens_[i]->content[0])].push_back(uint32_t(i));
  }
}

const AddedToken* AddedTokenMatcher::match_at(std::string_view text, size_t pos) const {
  for (uint32_t idx : by_first_[uint8_t(text[pos])]) {
    const AddedToken* t = tokens_[idx];
    const size_t n = t->content.size();
    if (pos + n > text.size() || std::memcmp(text.data() + pos, t->content.data(), n) != 0) {
      continue;
    }
    if (t->single_word) {
      if (pos > 0 && is_word_cp(prev_code_point(text, pos))) continue;
      if (pos + n < text.size()) {
        size_t p = pos + n;
        if (is_word_cp(next_code_point(text, &p))) continue;
      }
    }
    return t;
  }
  return nullptr;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
  size_t seg_start = 0;  // start of the pending ordinary text
  size_t pos = 0;
  while (pos < text.size()) {
    if (by_first_[uint8_t(text[pos])].empty()) {
      ++pos;
      continue;
    }
    const AddedToken* t = match_at(text, pos);
    if (!t) {
      ++pos;
      continue;
    }
    size_t text_end = pos;
    if (t->lstrip) {
      while (text_end > seg_start) {
        size_t p = text_end - 1;
        while (p > seg_start && (uint8_t(text[p]) & 0xC0) == 0x80) --p;
        size_t q = p;
        if (!is_space_cp(next_code_point(text, &q))) break;
        text_end = p;
      }
    }
    if (text_end > seg_start) out.push_back({seg_start, text_end, -1});
    out.push_back({pos, pos + t->content.size(), t->id});
    pos += t->content.size();
    if (t->rstrip) {
      while (pos < text.size()) {
        size_t p = pos;
        if (!is_space_cp(next_code_point(text, &p))) break;
        pos = p;
      }
    }
    seg_start = pos;
  }
  if (text.size() > seg_start) out.push_back({seg_start, text.size(), -1});
}

}  // namespace yun::text
