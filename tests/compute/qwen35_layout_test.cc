// The other published Qwen3.5 layouts load and give the same logits as the
// golden checkpoint: a bare text config (Qwen3_5MoeForCausalLM, fields at the
// top, tensors under `model.`), MoE experts split per expert
// (`mlp.experts.{e}.gate_proj.weight` ...) instead of fused 3-D tensors, the
// small tensors (norms, A_log, dt_bias) in float32, and no vision tower or
// MTP head. A transposed split (up rows taken as gate) must not pass.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "golden_util.h"
#include "yun/model/safetensors_writer.h"

namespace yun::test {
namespace {

struct OutTensor {
  TensorSpec spec;
  std::vector<uint8_t> bytes;
};

void add(std::vector<OutTensor>& out, std::string name, DType dt, std::vector<int64_t> shape,
         const uint8_t* src, size_t n) {
  out.push_back({{std::move(name), dt, std::move(shape)}, std::vector<uint8_t>(src, src + n)});
}

// Rewrites the golden MoE checkpoint into `dir`. swap_gate_up: a deliberate
// mistake (gate and up exchanged) the test must catch.
void write_variant(const std::string& dir, bool swap_gate_up) {
  const std::string src = golden_model("qwen3_5moe-tiny");
  std::filesystem::create_directories(dir);
  nlohmann::json cfg;
  std::ifstream(src + "/config.json") >> cfg;
  nlohmann::json text = cfg["text_config"];
  text["architectures"] = {"Qwen3_5MoeForCausalLM"};
  std::ofstream(dir + "/config.json") << text.dump(1);
  std::filesystem::copy_file(src + "/generation_config.json", dir + "/generation_config.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto f = SafetensorsFile::open(src + "/model.safetensors");
  ASSERT_TRUE(f.is_ok());
  std::vector<OutTensor> out;
  const std::string lm = "model.language_model.";
  for (const auto& [name, t] : (*f)->tensors()) {
    if (name.rfind("model.visual.", 0) == 0 || name.rfind("mtp.", 0) == 0) continue;
    std::string n = name.rfind(lm, 0) == 0 ? "model." + name.substr(lm.size()) : name;
    const auto* data = static_cast<const uint8_t*>(t.data);
    const size_t es = dtype_size(t.dtype);
    if (n.size() > 20 && n.compare(n.size() - 20, 20, "experts.gate_up_proj") == 0) {
      const int64_t E = t.shape[0], I2 = t.shape[1], H = t.shape[2], I = I2 / 2;
      const std::string p = n.substr(0, n.size() - std::string("gate_up_proj").size());
      for (int64_t e = 0; e < E; ++e) {
        const uint8_t* gate = data + size_t(e * I2 * H) * es;
        const uint8_t* up = gate + size_t(I * H) * es;
        if (swap_gate_up) std::swap(gate, up);
        add(out, p + std::to_string(e) + ".gate_proj.weight", t.dtype, {I, H}, gate,
            size_t(I * H) * es);
        add(out, p + std::to_string(e) + ".up_proj.weight", t.dtype, {I, H}, up,
            size_t(I * H) * es);
      }
      continue;
    }
    if (n.size() > 17 && n.compare(n.size() - 17, 17, "experts.down_proj") == 0) {
      const int64_t E = t.shape[0], H = t.shape[1], I = t.shape[2];
      const std::string p = n.substr(0, n.size() - std::string("down_proj").size());
      for (int64_t e = 0; e < E; ++e)
        add(out, p + std::to_string(e) + ".down_proj.weight", t.dtype, {H, I},
            data + size_t(e * H * I) * es, size_t(H * I) * es);
      continue;
    }
    if (t.shape.size() == 1 && t.dtype == DType::kBF16) {  // small tensors as float32
      std::vector<float> v(size_t(t.numel()));
      for (size_t i = 0; i < v.size(); ++i) {
        uint32_t bits = uint32_t(reinterpret_cast<const uint16_t*>(data)[i]) << 16;
        std::memcpy(&v[i], &bits, 4);
      }
      add(out, n, DType::kF32, t.shape, reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
      continue;
    }
    add(out, n, t.dtype, t.shape, data, t.nbytes);
  }
  std::vector<TensorSpec> specs;
  for (const auto& o : out) specs.push_back(o.spec);
  Status s = write_safetensors(dir + "/model.safetensors", specs,
                               [&](size_t i, size_t off, uint8_t* dst, size_t n) {
                                 std::memcpy(dst, out[i].bytes.data() + off, n);
                               });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
}

std::vector<float> prefill(const std::string& dir, const std::vector<int32_t>& ids) {
  auto r = create_cpu_runner(dir, CpuRunnerOptions{2});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok()) return {};
  EXPECT_TRUE((*r)->allocate_kv_cache({64, 8}).is_ok());
  EXPECT_TRUE((*r)->allocate_state_slots(1).is_ok());
  BlockAlloc alloc(64);
  SeqState st;
  ForwardBatch b;
  add_seq(b, st, ids, 8, alloc, /*all_logits=*/true);
  b.seqs.back().state_slot = 0;
  std::vector<float> logits;
  Status s = (*r)->forward(b, logits);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return logits;
}

TEST(Qwen35LayoutTest, TextConfigSplitExpertsAndF32NormsGiveTheSameLogits) {
  const std::string base = ::testing::TempDir() + "/yun_qwen35_layout";
  const std::vector<int32_t> ids = {5, 77, 300, 12, 999, 41, 8, 150, 3};
  std::vector<float> ref = prefill(golden_model("qwen3_5moe-tiny"), ids);
  write_variant(base + "/split", false);
  std::vector<float> split = prefill(base + "/split", ids);
  ASSERT_EQ(split.size(), ref.size());
  EXPECT_LT(rel_err(split.data(), ref.data(), int64_t(ref.size())), 1e-6);
  write_variant(base + "/swapped", true);
  std::vector<float> wrong = prefill(base + "/swapped", ids);
  ASSERT_EQ(wrong.size(), ref.size());
  EXPECT_GT(rel_err(wrong.data(), ref.data(), int64_t(ref.size())), 1e-3);
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace yun::test
