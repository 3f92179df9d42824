// One automaton per compiled grammar (automaton.h): matchers of one grammar
// share it and advance independently, giving the masks that matchers of
// separate compiles give; threads fill the shared caches concurrently (mask
// cache, automaton, per-configuration entry memo) and see the same masks as
// a single thread; a full automaton is replaced for new matchers only.
// Run: build/tests/yun_grammar_tests --gtest_filter='SharedAutomaton*'
#include <gtest/gtest.h>

#include <thread>

#include "grammar/grammar_test_util.h"
#include "yun/grammar/compile.h"
#include "yun/grammar/matcher.h"

namespace yun::grammar {
namespace {

using testing::qwen;

const char* kSchema =
    R"({"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"},
    "tags":{"type":"array","items":{"type":"string","maxLength":8}},
    "kind":{"enum":["alpha","beta","gamma"]}},"required":["name","n","tags"],"additionalProperties":false})";

const std::vector<std::string>& documents() {
  static const std::vector<std::string> d = {
      R"({"name": "Ada Lovelace", "n": 1815, "tags": ["math", "poetry"], "kind": "beta"})",
      R"({"name":"Grace","n":-7,"tags":[]})",
      R"({"name": "Émile \"E\" Zola", "n": 0, "tags": ["a", "bb", "naturali"]})",
      R"({"n": 1, "name": "x", "tags": ["q"]})"};  // refused at "n": the order is fixed
  return d;
}

uint64_t hash(const std::vector<uint32_t>& mask) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t w : mask) h = (h ^ w) * 1099511628211ull;
  return h;
}

// The masks along `ids` (one per token accepted, then the one after), and
// how many tokens were accepted.
std::vector<uint64_t> walk(Matcher& m, const std::vector<int32_t>& ids) {
  std::vector<uint64_t> out;
  std::vector<uint32_t> mask(qwen().vocab->mask_words());
  for (int32_t id : ids) {
    m.fill_mask(mask.data());
    out.push_back(hash(mask));
    if (!m.accept_token(id)) return out;
  }
  m.fill_mask(mask.data());
  out.push_back(hash(mask));
  return out;
}

std::shared_ptr<const CompiledGrammar> compile_schema() {
  auto g = compile(GrammarSpec{GrammarSpec::kJsonSchema, kSchema, {}}, qwen().vocab);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  return g.is_ok() ? g.value() : nullptr;
}

size_t configs(Automaton& a) {
  auto lk = a.lock();
  return a.space().n_configs();
}

TEST(SharedAutomaton, MatchersAdvanceIndependentlyWithTheMasksOfSeparateCompiles) {
  if (!qwen().vocab) GTEST_SKIP() << "no tokenizer";
  const auto& docs = documents();
  std::vector<std::vector<int32_t>> ids;
  for (const auto& d : docs) ids.push_back(qwen().tok->encode(d));
  // Reference: each document on its own compile.
  std::vector<std::vector<uint64_t>> want;
  for (const auto& t : ids) {
    auto own = compile_schema();
    ASSERT_TRUE(own);
    Matcher m(own);
    want.push_back(walk(m, t));
  }
  // Shared: one compile, the documents' matchers stepped in turns.
  auto g = compile_schema();
  ASSERT_TRUE(g);
  std::vector<Matcher> ms;
  for (size_t i = 0; i < docs.size(); ++i) ms.emplace_back(g);
  std::vector<std::vector<uint64_t>> got(docs.size());
  std::vector<uint32_t> mask(qwen().vocab->mask_words());
  std::vector<bool> live(docs.size(), true);
  for (size_t k = 0;; ++k) {
    bool any = false;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!live[i] || k > ids[i].size()) continue;
      any = true;
      ms[i].fill_mask(mask.data());
      got[i].push_back(hash(mask));
      if (k == ids[i].size() || !ms[i].accept_token(ids[i][k])) live[i] = false;
    }
    if (!any) break;
  }
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(got[i], want[i]) << docs[i];
  EXPECT_EQ(got[0].size(), ids[0].size() + 1);
  EXPECT_LT(got[3].size(), ids[3].size());  // the refused document stopped early
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(ms[i].is_complete()) << docs[i];
  EXPECT_FALSE(ms[3].is_complete());
  // One automaton: a later matcher on a walked document adds no configuration.
  std::shared_ptr<Automaton> a = g->automaton();
  const size_t before = configs(*a);
  Matcher again(g);
  EXPECT_EQ(walk(again, ids[0]), want[0]);
  EXPECT_EQ(configs(*a), before);
}

TEST(SharedAutomaton, ThreadsFillTheSharedCachesConcurrently) {
  if (!qwen().vocab) GTEST_SKIP() << "no tokenizer";
  const auto& docs = documents();
  std::vector<std::vector<int32_t>> ids;
  for (const auto& d : docs) ids.push_back(qwen().tok->encode(d));
  std::vector<std::vector<uint64_t>> want;
  {
    auto g = compile_schema();
    ASSERT_TRUE(g);
    for (const auto& t : ids) {
      Matcher m(g);
      want.push_back(walk(m, t));
    }
  }
  // A cold grammar; 8 threads, each starting fresh matchers on every
  // document in its own order, so starts, steps and misses interleave.
  auto g = compile_schema();
  ASSERT_TRUE(g);
  constexpr int kThreads = 8;
  std::vector<std::vector<std::vector<uint64_t>>> got(
      kThreads, std::vector<std::vector<uint64_t>>(docs.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < docs.size(); ++k) {
        const size_t i = (k + size_t(t)) % docs.size();
        Matcher m(g);
        got[size_t(t)][i] = walk(m, ids[i]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (size_t i = 0; i < docs.size(); ++i)
      EXPECT_EQ(got[size_t(t)][i], want[i]) << "thread " << t << ": " << docs[i];
}

TEST(SharedAutomaton, AFullAutomatonIsReplacedForNewMatchersOnly) {
  // A counter with more positions than Automaton::kMaxConfigs.
  const size_t n = Automaton::kMaxConfigs + 500;
  auto g =
      compile(GrammarSpec{GrammarSpec::kRegex, "[ab]{0," + std::to_string(n) + "}c", {}}, nullptr);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  Matcher m(g.value());
  const std::shared_ptr<Automaton> first = g.value()->automaton();
  ASSERT_TRUE(m.accept_bytes(std::string(Automaton::kMaxConfigs + 100, 'a')));
  EXPECT_TRUE(first->full());
  Matcher fresh(g.value());  // starts in a new automaton
  EXPECT_NE(g.value()->automaton(), first);
  EXPECT_TRUE(fresh.accept_bytes("abc"));
  EXPECT_TRUE(fresh.is_complete());
  // The old matcher goes on in its own automaton, ids unchanged.
  const int32_t id = m.state_id();
  Matcher fork = m.clone();
  EXPECT_TRUE(fork.accept_bytes("b"));
  EXPECT_TRUE(fork.rollback(1));
  EXPECT_EQ(fork.state_id(), id);
  EXPECT_TRUE(m.accept_bytes("bbc"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.accept_bytes("a"));
}

}  // namespace
}  // namespace yun::grammar
