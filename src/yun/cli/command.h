// The `yun` subcommand table. Each cmd_<name>.cc registers itself with
// YUN_COMMAND, so adding a subcommand touches no other file.
//
// Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input
// (missing/corrupt model files, bad flags).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace yun::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;
  std::string summary;  // one line for `yun --help`
  CommandFn run;        // args exclude "yun" and the command name
};

std::vector<Command>& command_table();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string summary, CommandFn fn) {
    command_table().push_back({std::move(name), std::move(summary), std::move(fn)});
  }
};

// Prints "yun: <message>" on stderr and returns `code` (for `return fail(2, ...)`).
int fail(int code, const std::string& message);

}  // namespace yun::cli

#define YUN_COMMAND(name, summary, fn) \
  static ::yun::cli::CommandRegistrar yun_cmd_registrar_##fn(name, summary, fn)
