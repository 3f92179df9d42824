// yun: entry point; dispatches to the registered subcommands (command.h).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "yun/base/cpu_features.h"
#include "yun/cli/command.h"

namespace yun::cli {

std::vector<Command>& command_table() {
  static std::vector<Command> table;
  return table;
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "yun: %s\n", message.c_str());
  return code;
}

namespace {

void print_help() {
  auto cmds = command_table();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::cout << "yun — a self-hostable AI cloud for open models (Qwen, QwQ, DeepSeek-R1 distills)\n\n"
               "Usage: yun <command> [options]\n\nCommands:\n";
  for (auto& c : cmds) std::printf("  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::cout << "\nRun `yun <command> --help` for a command's options.\n"
               "A model is a Hugging Face directory (config.json, generation_config.json,\n"
               "model.safetensors or shards + model.safetensors.index.json, tokenizer.json)\n"
               "or a repo id such as Qwen/Qwen3-0.6B[@rev] in the Hugging Face cache (yun pull).\n";
}

}  // namespace
}  // namespace yun::cli

int main(int argc, char** argv) {
  using namespace yun::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("yun %s (cpu: %s)\n", YUN_VERSION, yun::cpu_features().to_string().c_str());
    return 0;
  }
  for (auto& c : command_table()) {
    if (c.name == args[0]) {
      std::vector<std::string> rest(args.begin() + 1, args.end());
      try {
        return c.run(rest);
      } catch (const std::exception& e) {
        return fail(1, std::string("internal error: ") + e.what());
      }
    }
  }
  print_help();
  return fail(2, "unknown command '" + args[0] + "'");
}
