// jinja string helpers with Python str semantics over UTF-8 (code points).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace yun::jinja {

std::string str_upper(const std::string& s);
std::string str_lower(const std::string& s);
std::string str_title(const std::string& s);
// Jinja2's title filter: words start after whitespace or any of -({[<.
std::string jinja_title(const std::string& s);
std::string str_capitalize(const std::string& s);
// Python strip/lstrip/rstrip; `chars` null means whitespace.
std::string str_strip(const std::string& s, const std::string* chars, bool left, bool right);
// Python split(sep, maxsplit); `sep` null means runs of whitespace.
std::vector<std::string> str_split(const std::string& s, const std::string* sep, int64_t maxsplit);
// Python replace(old, new, count); count < 0 means all.
std::string str_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count);
// Number of runs of word characters (Python regex \w+), for the wordcount filter.
int64_t str_word_count(const std::string& s);
// Python str.find in code points; -1 when absent.
int64_t str_find(const std::string& s, const std::string& sub);

}  // namespace yun::jinja
