// StopChecker tests with the real Qwen3 tokenizer (skipped when
// YUN_TOKENIZER_DIR has none): stop strings cut the text before the match
// and are not returned; a tail that may start a stop string is held back
// while streaming; max_tokens/max_model_len give "length".
// Run: build-engine/tests/yun_engine_tests --gtest_filter='StopChecker*'
#include "yun/engine/stop_checker.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace yun {
namespace {

std::shared_ptr<const Tokenizer> load_tokenizer() {
  auto t = Tokenizer::load(test::tokenizer_dir());
  return t.is_ok() ? std::shared_ptr<const Tokenizer>(*t) : nullptr;
}

struct Streamed {
  std::vector<std::string> deltas;
  std::string text;
  std::optional<FinishReason> finish;
  std::string reason;
};

Streamed stream(std::shared_ptr<const Tokenizer> tok, const std::string& text, SamplingParams p,
                int32_t max_model_len = 100000) {
  auto params = std::make_shared<const SamplingParams>(p);
  StopChecker sc(params, {}, tok, max_model_len);
  Streamed s;
  auto ids = tok->encode(text);
  for (size_t i = 0; i < ids.size(); ++i) {
    StopDecision d = sc.append(ids[i], static_cast<int32_t>(i + 1), static_cast<int32_t>(i + 1));
    s.deltas.push_back(d.text);
    s.text += d.text;
    if (d.finish) {
      s.finish = d.finish;
      s.reason = d.stop_reason;
      break;
    }
  }
  return s;
}

TEST(StopCheckerTest, StopStringIsCutAndNotReturned) {
  auto tok = load_tokenizer();
  if (!tok) GTEST_SKIP() << "no tokenizer at " << test::tokenizer_dir();
  SamplingParams p;
  p.max_tokens = 1000;
  p.stop = {"END", "never"};
  Streamed s = stream(tok, "Hello world. The END is near", p);
  EXPECT_EQ(s.text, "Hello world. The ");
  EXPECT_EQ(s.finish, FinishReason::kStop);
  EXPECT_EQ(s.reason, "END");
}

TEST(StopCheckerTest, PossibleStopPrefixIsHeldBack) {
  auto tok = load_tokenizer();
  if (!tok) GTEST_SKIP() << "no tokenizer";
  SamplingParams p;
  p.max_tokens = 1000;
  p.stop = {"world!"};
  auto params = std::make_shared<const SamplingParams>(p);
  StopChecker sc(params, {}, tok, 100000);
  auto ids = tok->encode("Hello world. Bye");
  std::string so_far;
  bool saw_held = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    StopDecision d = sc.append(ids[i], static_cast<int32_t>(i + 1), static_cast<int32_t>(i + 1));
    so_far += d.text;
    if (tok->decode({ids.begin(), ids.begin() + i + 1}, true) == "Hello world") {
      EXPECT_EQ(so_far, "Hello ");  // " world" could become "world!"
      saw_held = true;
    }
    EXPECT_FALSE(d.finish);
  }
  EXPECT_TRUE(saw_held);
  so_far += sc.flush();
  EXPECT_EQ(so_far, "Hello world. Bye");
}

TEST(StopCheckerTest, LengthAndTextWithoutStops) {
  auto tok = load_tokenizer();
  if (!tok) GTEST_SKIP() << "no tokenizer";
  SamplingParams p;
  p.max_tokens = 3;
  std::string text = "one two three four five";
  Streamed s = stream(tok, text, p);
  EXPECT_EQ(s.finish, FinishReason::kLength);
  auto ids = tok->encode(text);
  EXPECT_EQ(s.text, tok->decode({ids.begin(), ids.begin() + 3}, true));
  p.max_tokens = 100;
  Streamed m = stream(tok, text, p, /*max_model_len=*/2);
  EXPECT_EQ(m.finish, FinishReason::kLength);
}

TEST(StopCheckerTest, NoTokenizerStillStopsOnIds) {
  SamplingParams p;
  p.max_tokens = 10;
  p.stop_token_ids = {7};
  auto params = std::make_shared<const SamplingParams>(p);
  StopChecker sc(params, {2}, nullptr, 100);
  EXPECT_FALSE(sc.append(5, 1, 5).finish);
  StopDecision d = sc.append(2, 2, 6);
  EXPECT_EQ(d.finish, FinishReason::kStop);
  EXPECT_EQ(d.stop_reason, "");
  StopChecker sc2(params, {2}, nullptr, 100);
  d = sc2.append(7, 1, 5);
  EXPECT_EQ(d.finish, FinishReason::kStop);
  EXPECT_EQ(d.stop_reason, "7");
}

}  // namespace
}  // namespace yun
