// Token-level checks of the grammar engine with the real Qwen3 vocabulary
// over the schema corpus in tests/data/grammar/*.json:
//   - random walks (random allowed tokens from the mask, EOS when allowed
//     now and then) end in JSON that parses and validates against the schema
//     (tests/grammar/schema_validator.h, independent of the grammar code);
//   - at sampled steps the mask agrees with token_allowed() on random ids
//     (the shared mask cache is exact) and the state can still be completed;
//   - the corpus' valid documents, compact and indented, tokenized as the
//     tokenizer does, are accepted token by token (each token in the mask);
//     its invalid texts are rejected.
// Run: build/tests/yun_grammar_tests --gtest_filter='Corpus*'
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "grammar/grammar_test_util.h"
#include "grammar/schema_validator.h"
#include "yun/grammar/compile.h"

namespace yun::grammar {
namespace {

using testing::allowed_ids;
using testing::bit;
using testing::complete_greedy;
using testing::qwen;

struct Case {
  std::string name;
  nlohmann::ordered_json doc;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> corpus() {
  std::vector<Case> out;
  std::string dir = yun::test::data_dir() + "/grammar";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream f(e.path());
    std::stringstream ss;
    ss << f.rdbuf();
    out.push_back({e.path().stem().string(), nlohmann::ordered_json::parse(ss.str())});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

class Corpus : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!qwen().vocab) GTEST_SKIP() << "Qwen3 tokenizer not found at " << yun::test::tokenizer_dir();
    const Case& c = GetParam();
    auto r = compile(GrammarSpec{GrammarSpec::kJsonSchema, c.doc["schema"].dump(), {}}, qwen().vocab);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    g_ = r.value();
    validator_ = std::make_unique<yun::test::SchemaValidator>(nlohmann::json::parse(c.doc["schema"].dump()));
  }

  // Accepts `text` tokenized; true when every token was in the mask and
  // accepted and the end is complete (EOS then accepted).
  bool accepts_text(const std::string& text, std::string* why) {
    Matcher m(g_);
    std::vector<uint32_t> mask(qwen().vocab->mask_words());
    for (int32_t id : qwen().tok->encode(text)) {
      m.fill_mask(mask.data());
      bool in_mask = bit(mask, id);
      bool ok = m.accept_token(id);
      if (in_mask != ok) {
        *why = "mask and accept_token disagree on token " + std::to_string(id);
        ADD_FAILURE() << *why << " in " << text;
        return false;
      }
      if (!ok) {
        *why = "token " + std::to_string(id) + " '" + qwen().vocab->bytes(id) + "' rejected";
        return false;
      }
    }
    m.fill_mask(mask.data());
    if (!m.is_complete() || !bit(mask, qwen().im_end) || !m.accept_token(qwen().im_end)) {
      *why = "incomplete at the end";
      return false;
    }
    return true;
  }

  std::shared_ptr<const CompiledGrammar> g_;
  std::unique_ptr<yun::test::SchemaValidator> validator_;
};

TEST_P(Corpus, ValidDocumentsAreAcceptedTokenByToken) {
  for (const auto& v : GetParam().doc["valid"]) {
    ASSERT_EQ(validator_->validate(nlohmann::json::parse(v.dump())), "") << "corpus error: " << v.dump();
    for (int indent : {-1, 2}) {
      std::string text = v.dump(indent, ' ', false);
      std::string why;
      EXPECT_TRUE(accepts_text(text, &why)) << why << "\n" << text;
    }
  }
}

TEST_P(Corpus, InvalidTextsAreRejected) {
  for (const auto& v : GetParam().doc["invalid"]) {
    std::string text = v.get<std::string>();
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_discarded()) {
      ASSERT_NE(validator_->validate(parsed), "") << "corpus error: the validator accepts " << text;
    }
    std::string why;
    EXPECT_FALSE(accepts_text(text, &why)) << text;
  }
}

TEST_P(Corpus, RandomWalksValidate) {
  const auto& vocab = *qwen().vocab;
  std::vector<uint32_t> mask(vocab.mask_words());
  std::mt19937 rng(std::hash<std::string>()(GetParam().name));
  const int kWalks = 12;
  for (int w = 0; w < kWalks; ++w) {
    Matcher m(g_);
    std::string out;
    bool ended = false;
    for (int step = 0; step < 120 && !ended; ++step) {
      m.fill_mask(mask.data());
      std::vector<int32_t> ids = allowed_ids(mask);
      ASSERT_FALSE(ids.empty()) << "dead end after " << out;
      if (step % 9 == 0) {
        // The cached mask is exact: compare with a direct check.
        for (int k = 0; k < 200; ++k) {
          int32_t id = int32_t(rng() % uint32_t(vocab.n_vocab()));
          ASSERT_EQ(bit(mask, id), m.token_allowed(id)) << "token " << id << " after " << out;
        }
        Matcher probe = m.clone();
        ASSERT_TRUE(complete_greedy(probe).has_value()) << "cannot complete after " << out;
        // No token in the mask leads to a dead end.
        for (int k = 0; k < 3; ++k) {
          int32_t id = ids[rng() % ids.size()];
          if (vocab.is_eos(id)) continue;
          Matcher next = m.clone();
          ASSERT_TRUE(next.accept_token(id));
          ASSERT_TRUE(complete_greedy(next).has_value()) << "dead end after " << out << vocab.bytes(id);
        }
      }
      int32_t pick;
      if (m.is_complete() && rng() % 3 == 0) {
        pick = qwen().im_end;
      } else {
        std::vector<int32_t> shortl;
        for (int32_t id : ids) if (vocab.bytes(id).size() == 1) shortl.push_back(id);
        const auto& from = (!shortl.empty() && rng() % 2) ? shortl : ids;
        pick = from[rng() % from.size()];
      }
      ASSERT_TRUE(m.accept_token(pick)) << "a token from the mask was refused: " << pick;
      if (vocab.is_eos(pick)) {
        ended = true;
      } else {
        out += vocab.bytes(pick);
      }
    }
    if (!ended) {
      auto rest = complete_greedy(m);
      ASSERT_TRUE(rest.has_value()) << "cannot complete after " << out;
      out += *rest;
    }
    auto parsed = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << out;
    EXPECT_EQ(validator_->validate(parsed), "") << out;
  }
}

INSTANTIATE_TEST_SUITE_P(Schemas, Corpus, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace yun::grammar
