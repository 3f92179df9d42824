// A golden model rewritten as F32 (exact from bf16) and split into two shards
// with model.safetensors.index.json gives the same logits as the original:
// covers the F32 paths (embedding gather, norms, matmul) and sharded loading.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "golden_util.h"
#include <nlohmann/json.hpp>

#include "yun/base/half.h"
#include "yun/model/safetensors_writer.h"

namespace yun::test {
namespace {

namespace fs = std::filesystem;

std::vector<float> last_logits(const std::string& dir, const std::vector<int32_t>& ids) {
  auto r = create_cpu_runner(dir, {2});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return {};
  EXPECT_TRUE((*r)->allocate_kv_cache({64, 16}));
  BlockAlloc alloc(64);
  SeqState st;
  return run_one(**r, st, ids, alloc, true);
}

void convert_sharded_f32(const std::string& src_dir, const fs::path& dst) {
  auto src = SafetensorsFile::open(src_dir + "/model.safetensors");
  ASSERT_TRUE(src.is_ok());
  std::vector<std::vector<TensorSpec>> shard_specs(2);
  std::vector<std::vector<const TensorView*>> shard_views(2);
  nlohmann::json wm = nlohmann::json::object();
  int i = 0;
  for (auto& [name, t] : (*src)->tensors()) {
    ASSERT_EQ(t.dtype, DType::kBF16);
    int s = (i++) % 2;
    shard_specs[size_t(s)].push_back({name, DType::kF32, t.shape});
    shard_views[size_t(s)].push_back(&t);
    wm[name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s) {
    auto& views = shard_views[size_t(s)];
    std::string path = (dst / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors"));
    ASSERT_TRUE(write_safetensors(path, shard_specs[size_t(s)],
                                  [&](size_t k, size_t off, uint8_t* p, size_t n) {
                                    const auto* b = static_cast<const uint16_t*>(views[k]->data);
                                    for (size_t e = 0; e < n / 4; ++e) {
                                      float f = bf16_to_f32(b[off / 4 + e]);
                                      std::memcpy(p + 4 * e, &f, 4);
                                    }
                                  }));
  }
  std::ofstream(dst / "model.safetensors.index.json") << nlohmann::json{{"weight_map", wm}}.dump();
}

TEST(GoldenDtype, F32ShardedMatchesBf16) {
  for (const char* name : {"qwen3moe-tiny", "qwen2-tiny"}) {
    const std::string src = golden_model(name);
    fs::path dst = fs::temp_directory_path() /
                   ("yun_golden_f32_" + std::string(name) + "_" + std::to_string(::getpid()));
    fs::create_directories(dst);
    fs::copy_file(src + "/config.json", dst / "config.json", fs::copy_options::overwrite_existing);
    convert_sharded_f32(src, dst);
    std::vector<int32_t> ids = {5, 17, 300, 2, 999, 41, 7};
    std::vector<float> a = last_logits(src, ids);
    std::vector<float> b = last_logits(dst.string(), ids);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    EXPECT_LT(rel_err(b.data(), a.data(), int64_t(a.size())), 1e-5) << name;
    fs::remove_all(dst);
  }
}

}  // namespace
}  // namespace yun::test
