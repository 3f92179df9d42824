// A small flag parser shared by the subcommands: --name value, --name=value,
// boolean --flag, and positional arguments. Unknown flags are errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "yun/base/status.h"

namespace yun::cli {

class Args {
 public:
  // `value_flags` take a value; `bool_flags` don't. Names include the dashes
  // ("--model", "-n"). A flag given several times keeps every value (all()).
  static Result<Args> parse(const std::vector<std::string>& argv,
                            const std::set<std::string>& value_flags,
                            const std::set<std::string>& bool_flags);

  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  std::optional<std::string> get(const std::string& flag) const;
  std::vector<std::string> all(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Typed getters: the default when absent; kInvalidArgument naming the flag
  // when present but malformed.
  Result<int64_t> get_int(const std::string& flag, int64_t def) const;
  Result<double> get_double(const std::string& flag, double def) const;
  std::string get_string(const std::string& flag, const std::string& def) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// The typed getters' rule for one flag's text (the engine options table and
// the models config use it too). Errors: kInvalidArgument naming the flag.
Result<int64_t> parse_int_flag(const std::string& flag, const std::string& text);
Result<double> parse_double_flag(const std::string& flag, const std::string& text);

}  // namespace yun::cli
