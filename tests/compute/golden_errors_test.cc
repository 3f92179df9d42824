// The CPU runner on bad input: missing or broken model directories, and
// malformed batches (all kInvalidArgument, never UB).
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "golden_util.h"

namespace yun::test {
namespace {

namespace fs = std::filesystem;

TEST(CpuRunnerErrors, BadModelDirs) {
  CpuRunnerOptions opt;
  opt.num_threads = 1;
  auto r = create_cpu_runner("/nonexistent/yun/model", opt);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);

  fs::path dir = fs::temp_directory_path() / ("yun_runner_err_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << "{ bad json";
  r = create_cpu_runner(dir.string(), opt);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  std::ofstream(dir / "config.json") << R"({"architectures": ["GPT2LMHeadModel"]})";
  r = create_cpu_runner(dir.string(), opt);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("GPT2LMHeadModel"), std::string::npos);

  // A valid config without weights.
  fs::copy_file(golden_model("qwen2-tiny") + "/config.json", dir / "config.json",
                fs::copy_options::overwrite_existing);
  r = create_cpu_runner(dir.string(), opt);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(CpuRunnerErrors, MalformedBatches) {
  CpuRunnerOptions opt;
  opt.num_threads = 2;
  auto r = create_cpu_runner(golden_model("qwen2-tiny"), opt);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ModelRunner& m = **r;
  EXPECT_EQ(m.device_name(), "cpu");
  EXPECT_EQ(m.kv_bytes_per_token(), size_t(2 * 2 * 2 * 16 * 4));
  std::vector<float> logits;
  auto good = [] {
    ForwardBatch b;
    b.token_ids = {1, 2, 3};
    b.positions = {0, 1, 2};
    SeqSlice s;
    s.token_start = 0;
    s.num_tokens = 3;
    s.context_len = 3;
    s.block_table = {5};
    b.seqs = {s};
    b.logit_rows = {2};
    return b;
  };
  // No KV cache yet.
  EXPECT_EQ(m.forward(good(), logits).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(m.allocate_kv_cache({8, 4}));
  EXPECT_EQ(m.kv_cache_spec().num_blocks, 8);
  ASSERT_TRUE(m.forward(good(), logits)) << "the good batch";
  EXPECT_EQ(logits.size(), size_t(1024));

  std::vector<std::pair<const char*, std::function<void(ForwardBatch&)>>> bad = {
      {"empty", [](ForwardBatch& b) { b = ForwardBatch(); }},
      {"token id", [](ForwardBatch& b) { b.token_ids[1] = 1024; }},
      {"negative token", [](ForwardBatch& b) { b.token_ids[1] = -1; }},
      {"block id", [](ForwardBatch& b) { b.seqs[0].block_table[0] = 8; }},
      {"negative block", [](ForwardBatch& b) { b.seqs[0].block_table[0] = -1; }},
      {"table short", [](ForwardBatch& b) { b.seqs[0].context_len = 5; }},
      {"context < tokens", [](ForwardBatch& b) { b.seqs[0].context_len = 2; }},
      {"rows past end", [](ForwardBatch& b) { b.seqs[0].num_tokens = 4; }},
      {"zero rows", [](ForwardBatch& b) { b.seqs[0].num_tokens = 0; }},
      {"uncovered row", [](ForwardBatch& b) {
         b.seqs[0].num_tokens = 2;
         b.seqs[0].context_len = 2;
       }},
      {"overlap", [](ForwardBatch& b) { b.seqs.push_back(b.seqs[0]); }},
      {"logit row", [](ForwardBatch& b) { b.logit_rows = {3}; }},
      {"positions size", [](ForwardBatch& b) { b.positions.pop_back(); }},
      {"position value", [](ForwardBatch& b) { b.positions[2] = 7; }},
  };
  for (auto& [name, edit] : bad) {
    ForwardBatch b = good();
    edit(b);
    Status s = m.forward(b, logits);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name << ": " << s.to_string();
  }
  ASSERT_TRUE(m.forward(good(), logits));
  EXPECT_EQ(m.allocate_kv_cache({0, 16}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yun::test
