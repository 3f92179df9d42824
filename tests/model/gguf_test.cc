// Tests for model/gguf (reader), model/gguf_writer, model/gguf_model (config
// and name mapping) and model/gguf_export: round trips of every metadata
// type and of the tiny golden models, and every kind of bad file (each
// prefix of a good file, lying counts, offsets, sizes, types, names).
// Run: build/tests/yun_model_tests --gtest_filter='Gguf*'
#include "yun/model/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"
#include "yun/model/gguf_export.h"
#include "yun/model/gguf_model.h"
#include "yun/model/gguf_writer.h"
#include "yun/model/safetensors.h"
#include "yun/model/weight_format.h"
#include "yun/model/weights.h"

namespace yun {
namespace {

namespace fs = std::filesystem;

// Little-endian byte builder for hand-made files.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    uint8_t t[sizeof(T)];
    std::memcpy(t, &v, sizeof(T));
    b.insert(b.end(), t, t + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return put<uint32_t>(0x46554747)
        .put<uint32_t>(version)
        .put<uint64_t>(tensors)
        .put<uint64_t>(kvs);
  }
  Bytes& pad(size_t align = 32) {
    b.resize((b.size() + align - 1) / align * align, 0);
    return *this;
  }
};

Result<std::unique_ptr<GgufFile>> parse(const Bytes& x) {
  return GgufFile::parse(x.b.data(), x.b.size(), "t.gguf");
}

// One tensor "w" [2 rows, 32 cols] Q8_0 (2 blocks, 68 bytes) at `offset`.
Bytes one_tensor(uint64_t offset = 0, uint32_t type = 8, uint64_t cols = 32) {
  Bytes x;
  x.header(1, 0).str("w").put<uint32_t>(2).put<uint64_t>(cols).put<uint64_t>(2);
  x.put<uint32_t>(type).put<uint64_t>(offset).pad();
  x.b.resize(x.b.size() + offset + 68, 0);
  return x;
}

TEST(Gguf, EveryMetadataTypeRoundTrips) {
  Bytes x;
  x.header(0, 14);
  x.str("u8").put<uint32_t>(0).put<uint8_t>(200);
  x.str("i8").put<uint32_t>(1).put<int8_t>(-5);
  x.str("u16").put<uint32_t>(2).put<uint16_t>(60000);
  x.str("i16").put<uint32_t>(3).put<int16_t>(-300);
  x.str("u32").put<uint32_t>(4).put<uint32_t>(4000000000u);
  x.str("i32").put<uint32_t>(5).put<int32_t>(-70000);
  x.str("f32").put<uint32_t>(6).put<float>(1.5f);
  x.str("bool").put<uint32_t>(7).put<uint8_t>(1);
  x.str("str").put<uint32_t>(8).str("héllo");
  x.str("u64").put<uint32_t>(10).put<uint64_t>(uint64_t(1) << 40);
  x.str("i64").put<uint32_t>(11).put<int64_t>(-(int64_t(1) << 40));
  x.str("f64").put<uint32_t>(12).put<double>(-2.25);
  x.str("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("a").str("bc");
  x.str("nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1);
  x.put<uint32_t>(5).put<uint64_t>(3).put<int32_t>(1).put<int32_t>(2).put<int32_t>(3);
  auto f = parse(x);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  const GgufFile& g = **f;
  EXPECT_EQ(*g.get_int("u8"), 200);
  EXPECT_EQ(*g.get_int("i8"), -5);
  EXPECT_EQ(*g.get_int("u16"), 60000);
  EXPECT_EQ(*g.get_int("i16"), -300);
  EXPECT_EQ(*g.get_int("u32"), 4000000000ll);
  EXPECT_EQ(*g.get_int("i32"), -70000);
  EXPECT_EQ(*g.get_float("f32"), 1.5);
  EXPECT_EQ(*g.get_bool("bool"), true);
  EXPECT_EQ(*g.get_string("str"), "héllo");
  EXPECT_EQ(*g.get_int("u64"), int64_t(1) << 40);
  EXPECT_EQ(*g.get_int("i64"), -(int64_t(1) << 40));
  EXPECT_EQ(*g.get_float("f64"), -2.25);
  EXPECT_EQ(g.find("arr")->strs, (std::vector<std::string>{"a", "bc"}));
  ASSERT_EQ(g.find("nested")->items.size(), 1u);
  EXPECT_EQ(g.find("nested")->items[0].ints, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(g.get_int("str").has_value());
  EXPECT_FALSE(g.get_string("missing").has_value());
}

TEST(Gguf, TensorViewsAndAlignment) {
  auto f = parse(one_tensor(0));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  const GgufTensor* t = (*f)->find_tensor("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->view.dtype, DType::kQ8_0);
  EXPECT_EQ(t->view.shape, (std::vector<int64_t>{2, 32}));  // row-major: [rows, cols]
  EXPECT_EQ(t->view.nbytes, 68u);
  // A custom alignment moves the data start.
  Bytes x;
  x.header(1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(64);
  x.str("w").put<uint32_t>(1).put<uint64_t>(4).put<uint32_t>(0).put<uint64_t>(0).pad(64);
  const size_t start = x.b.size();
  x.put<float>(1).put<float>(2).put<float>(3).put<float>(4);
  auto g = parse(x);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ((*g)->alignment(), 64u);
  EXPECT_EQ((*g)->find_tensor("w")->view.data, x.b.data() + start);
}

void expect_bad(const Bytes& x, const std::string& needle) {
  auto f = parse(x);
  ASSERT_FALSE(f.is_ok()) << "accepted; wanted an error containing '" << needle << "'";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
}

TEST(Gguf, RejectsLyingFiles) {
  expect_bad(Bytes{}.put<uint32_t>(0x12345678).put<uint32_t>(3), "magic");
  expect_bad(Bytes{}.header(0, 0, 1), "version");
  expect_bad(Bytes{}.header(0, uint64_t(1) << 60), "metadata count");
  expect_bad(Bytes{}.header(uint64_t(1) << 60, 0), "tensor count");
  {  // string length past the end
    Bytes x;
    x.header(0, 1).put<uint64_t>(1000).put<uint64_t>(0);
    expect_bad(x, "past end");
  }
  {  // key not UTF-8
    Bytes x;
    x.header(0, 1).str("\xff\xfe").put<uint32_t>(4).put<uint32_t>(1);
    expect_bad(x, "UTF-8");
  }
  {  // unknown value type
    Bytes x;
    x.header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(1);
    expect_bad(x, "unknown type");
  }
  {  // array count past the end
    Bytes x;
    x.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(1000000).put<uint32_t>(
        0);
    expect_bad(x, "past end");
  }
  {  // duplicate key
    Bytes x;
    x.header(0, 2)
        .str("k")
        .put<uint32_t>(4)
        .put<uint32_t>(1)
        .str("k")
        .put<uint32_t>(4)
        .put<uint32_t>(2);
    expect_bad(x, "twice");
  }
  {  // bool other than 0/1
    Bytes x;
    x.header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2);
    expect_bad(x, "bool");
  }
  {  // alignment not a power of two
    Bytes x;
    x.header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
    expect_bad(x, "alignment");
  }
  {  // nesting too deep
    Bytes x;
    x.header(0, 1).str("k").put<uint32_t>(9);
    for (int i = 0; i < 6; ++i) x.put<uint32_t>(9).put<uint64_t>(1);
    x.put<uint32_t>(4).put<uint64_t>(0);
    expect_bad(x, "nested");
  }
  expect_bad(one_tensor(0, 3), "unsupported type");  // Q4_1: not read
  expect_bad(one_tensor(0, 8, 33), "not whole");     // rows of 33 in blocks of 32
  expect_bad(one_tensor(16), "not aligned");
  {
    Bytes x = one_tensor(0);
    x.b.resize(x.b.size() - 1);
    expect_bad(x, "past end of data");
  }
  {  // dims
    Bytes x;
    x.header(1, 0).str("w").put<uint32_t>(5).pad(64);
    expect_bad(x, "dimensions");
    Bytes y;
    y.header(1, 0).str("w").put<uint32_t>(1).put<uint64_t>(0).pad(64);
    expect_bad(y, "dimension 0");
    Bytes z;  // numel overflow
    z.header(1, 0).str("w").put<uint32_t>(4);
    for (int i = 0; i < 4; ++i) z.put<uint64_t>(uint64_t(1) << 39);
    expect_bad(z, "too large");
  }
  {  // duplicate tensors
    Bytes y;
    y.header(2, 0);
    y.str("a").put<uint32_t>(1).put<uint64_t>(8).put<uint32_t>(0).put<uint64_t>(0);
    y.str("a").put<uint32_t>(1).put<uint64_t>(8).put<uint32_t>(0).put<uint64_t>(32);
    y.pad();
    y.b.resize(y.b.size() + 64, 0);
    expect_bad(y, "twice");
  }
}

TEST(Gguf, OverlapIsAnError) {
  Bytes x;
  x.header(2, 0);
  x.str("a").put<uint32_t>(1).put<uint64_t>(16).put<uint32_t>(0).put<uint64_t>(0);  // [0, 64)
  x.str("b").put<uint32_t>(1).put<uint64_t>(8).put<uint32_t>(0).put<uint64_t>(32);  // [32, 64)
  x.pad();
  x.b.resize(x.b.size() + 96, 0);
  expect_bad(x, "overlap");
}

TEST(Gguf, EveryPrefixOfAGoodFileIsAnErrorNotACrash) {
  GgufWriter w;
  w.set_string("general.architecture", "qwen2");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  w.set_f32("x", 2.0f);
  std::vector<uint8_t> data(68, 1);
  ASSERT_TRUE(w.add_tensor("w", DType::kQ8_0, {2, 32}, data.data(), data.size()).is_ok());
  const std::vector<uint8_t> full = w.bytes();
  ASSERT_TRUE(GgufFile::parse(full.data(), full.size(), "f").is_ok());
  // The writer pads the last tensor to the alignment (68 -> 96 bytes); cuts
  // inside that padding leave a complete file.
  const size_t needed = full.size() - (96 - 68);
  ASSERT_TRUE(GgufFile::parse(full.data(), needed, "f").is_ok());
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(n));
    EXPECT_FALSE(GgufFile::parse(cut.data(), cut.size(), "f").is_ok()) << n;
  }
}

TEST(Gguf, WriterRejectsSizesThatDisagree) {
  GgufWriter w;
  std::vector<uint8_t> data(68);
  EXPECT_FALSE(w.add_tensor("w", DType::kQ8_0, {2, 32}, data.data(), 67).is_ok());
  EXPECT_FALSE(w.add_tensor("w", DType::kQ8_0, {1, 64 + 1}, data.data(), 68).is_ok());
  EXPECT_FALSE(w.add_tensor("w", DType::kI32, {1}, data.data(), 4).is_ok());
  EXPECT_TRUE(w.add_tensor("w", DType::kQ8_0, {2, 32}, data.data(), 68).is_ok());
  EXPECT_FALSE(w.add_tensor("w", DType::kQ8_0, {2, 32}, data.data(), 68).is_ok());
}

TEST(GgufModel, NameMappingBothWays) {
  EXPECT_EQ(gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.12.self_attn.q_proj.bias"), "blk.12.attn_q.bias");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.post_attention_layernorm.weight"),
            "blk.0.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.3.mlp.gate.weight"), "blk.3.ffn_gate_inp.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.x.mlp.gate.weight"), "");
  EXPECT_EQ(gguf_experts_name(2, "down"), "blk.2.ffn_down_exps.weight");
}

TEST(GgufModel, LlamaQkRowOrderIsLlamaCppsPermutation) {
  // One head of 4 rows: HF rows (x0 x1 | y0 y1) -> GGUF (x0 y0 x1 y1).
  EXPECT_EQ(llama_qk_row_order(4, 1, true), (std::vector<int64_t>{0, 2, 1, 3}));
  // Two heads of 6 rows.
  EXPECT_EQ(llama_qk_row_order(12, 2, true),
            (std::vector<int64_t>{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}));
  const auto to = llama_qk_row_order(16, 2, true), from = llama_qk_row_order(16, 2, false);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(to[size_t(from[i])], int64_t(i));
}

class TempFile {
 public:
  explicit TempFile(const std::string& n)
      : path_((fs::temp_directory_path() / ("yun_gguf_" + std::to_string(::getpid()) + "_" + n))
                  .string()) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

// Every golden tiny model, exported as GGUF and read back: same config,
// same tensors (bit for bit: the export keeps bf16 matrices; vectors become
// F32 exactly).
TEST(GgufModel, GoldenModelsRoundTrip) {
  for (const char* name :
       {"qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny", "qwen2-yarn-tiny"}) {
    SCOPED_TRACE(name);
    const std::string dir = test::golden_model(name);
    auto c = load_model_config(dir);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    auto store = WeightStore::open_dir(dir);
    ASSERT_TRUE(store.is_ok());
    auto w = load_model_weights(*c, *store);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    TempFile out(std::string(name) + ".gguf");
    Status s = write_model_gguf(*c, *w, {}, out.str());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    EXPECT_TRUE(is_gguf_file(out.str()));
    auto cg = load_model_config(out.str());  // the one entry point, file or directory
    ASSERT_TRUE(cg.is_ok()) << cg.status().to_string();
    EXPECT_EQ(cg->arch, c->arch);
    EXPECT_EQ(cg->vocab_size, c->vocab_size);
    EXPECT_EQ(cg->hidden_size, c->hidden_size);
    EXPECT_EQ(cg->intermediate_size, c->intermediate_size);
    EXPECT_EQ(cg->num_hidden_layers, c->num_hidden_layers);
    EXPECT_EQ(cg->num_attention_heads, c->num_attention_heads);
    EXPECT_EQ(cg->num_key_value_heads, c->num_key_value_heads);
    EXPECT_EQ(cg->head_dim, c->head_dim);
    EXPECT_EQ(cg->tie_word_embeddings, c->tie_word_embeddings);
    EXPECT_EQ(cg->attention_bias, c->attention_bias);
    EXPECT_EQ(cg->qk_norm, c->qk_norm);
    EXPECT_EQ(cg->num_experts, c->num_experts);
    EXPECT_EQ(cg->num_experts_per_tok, c->num_experts_per_tok);
    EXPECT_EQ(cg->moe_intermediate_size, c->moe_intermediate_size);
    EXPECT_EQ(cg->norm_topk_prob, c->norm_topk_prob);
    EXPECT_EQ(cg->rope_scaling.type, c->rope_scaling.type);
    EXPECT_FLOAT_EQ(float(cg->rope_scaling.factor), float(c->rope_scaling.factor));
    EXPECT_EQ(cg->rope_scaling.original_max_position_embeddings,
              c->rope_scaling.original_max_position_embeddings);
    EXPECT_FLOAT_EQ(float(cg->rope_theta), float(c->rope_theta));
    EXPECT_FLOAT_EQ(float(cg->rms_norm_eps), float(c->rms_norm_eps));
    auto m = open_gguf_model(out.str());
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    auto wg = load_model_weights(m->config, m->weights);
    ASSERT_TRUE(wg.is_ok()) << wg.status().to_string();
    for (const std::string& n : (*store)->names()) {
      const TensorView* a = (*store)->find(n);
      const TensorView* b = m->weights->find(n);
      ASSERT_NE(b, nullptr) << n;
      ASSERT_EQ(a->shape, b->shape) << n;
      std::vector<float> fa(size_t(a->numel())), fb(size_t(b->numel()));
      weight_format(a->dtype)->row_to_float(a->data, fa.data(), a->numel());
      weight_format(b->dtype)->row_to_float(b->data, fb.data(), b->numel());
      ASSERT_EQ(fa, fb) << n;  // llama Q/K: un-permuted back to the HF order
    }
  }
}

// Qwen3.5 has no GGUF mapping for its linear-attention layers: export is an
// error naming the architecture, not a file without those tensors.
TEST(GgufModel, ExportOfQwen3_5IsAnError) {
  const std::string dir = test::golden_model("qwen3_5-tiny");
  auto c = load_model_config(dir);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  auto store = WeightStore::open_dir(dir);
  ASSERT_TRUE(store.is_ok());
  auto w = load_model_weights(*c, *store);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  TempFile out("qwen3_5-tiny.gguf");
  Status s = write_model_gguf(*c, *w, {}, out.str());
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("not supported"), std::string::npos) << s.to_string();
  EXPECT_FALSE(std::filesystem::exists(out.str()));
}

TEST(GgufModel, UnknownArchitectureAndMissingKeys) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt2");
  auto bytes = w.bytes();
  auto f = GgufFile::parse(bytes.data(), bytes.size(), "a.gguf");
  ASSERT_TRUE(f.is_ok());
  auto c = gguf_model_config(**f);
  EXPECT_EQ(c.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(c.status().message().find("gpt2"), std::string::npos);
  GgufWriter q;
  q.set_string("general.architecture", "qwen2");
  q.set_u32("qwen2.block_count", 2);
  bytes = q.bytes();
  f = GgufFile::parse(bytes.data(), bytes.size(), "b.gguf");
  ASSERT_TRUE(f.is_ok());
  c = gguf_model_config(**f);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("qwen2.embedding_length"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace yun
