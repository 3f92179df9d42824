#include "yun/cli/args.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace yun::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv,
                         const std::set<std::string>& value_flags,
                         const std::set<std::string>& bool_flags) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 1 && s[0] == '-' &&
        !(s.size() > 1 && (std::isdigit((unsigned char)s[1]) || s[1] == '.'))) {
      std::string name = s, value;
      bool has_eq = false;
      if (auto eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
        has_eq = true;
      }
      if (value_flags.count(name)) {
        if (!has_eq) {
          if (i + 1 >= argv.size()) return invalid_argument("flag " + name + " needs a value");
          value = argv[++i];
        }
        a.values_[name].push_back(value);
      } else if (bool_flags.count(name)) {
        if (has_eq) return invalid_argument("flag " + name + " takes no value");
        a.values_[name].push_back("true");
      } else {
        return invalid_argument("unknown flag " + name);
      }
    } else {
      a.positional_.push_back(s);
    }
  }
  return a;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<int64_t> parse_int_flag(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    return invalid_argument("flag " + flag + " needs an integer, got '" + text + "'");
  return static_cast<int64_t>(x);
}

Result<double> parse_double_flag(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
    return invalid_argument("flag " + flag + " needs a number, got '" + text + "'");
  return x;
}

Result<int64_t> Args::get_int(const std::string& flag, int64_t def) const {
  auto v = get(flag);
  if (!v) return def;
  return parse_int_flag(flag, *v);
}

Result<double> Args::get_double(const std::string& flag, double def) const {
  auto v = get(flag);
  if (!v) return def;
  return parse_double_flag(flag, *v);
}

std::string Args::get_string(const std::string& flag, const std::string& def) const {
  auto v = get(flag);
  return v ? *v : def;
}

}  // namespace yun::cli
