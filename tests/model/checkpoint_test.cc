// Tests for model/safetensors, model/safetensors_writer and model/weights:
// round trips, sharded directories, and every kind of bad file, crafted in a
// temporary directory.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "yun/model/safetensors.h"
#include "yun/model/safetensors_writer.h"
#include "yun/model/weights.h"

namespace yun {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("yun_ckpt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& n) const { return (path_ / n).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A raw safetensors file from a header string and `data_bytes` zero bytes.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(n >> (8 * i));
  s += header;
  s.append(data_bytes, '\0');
  write_text(path, s);
}

Status open_status(const std::string& path) {
  auto r = SafetensorsFile::open(path);
  return r.status();
}

void fill_pattern(size_t index, size_t off, uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = uint8_t((off + i) * 7 + index);
}

TEST(Safetensors, RoundTrip) {
  TempDir d;
  std::vector<TensorSpec> specs = {{"a", DType::kF32, {2, 3}},
                                   {"b", DType::kBF16, {5}},
                                   {"empty", DType::kF16, {0, 4}}};
  ASSERT_TRUE(write_safetensors(d.file("x.safetensors"), specs, fill_pattern, {{"format", "pt"}}));
  auto f = SafetensorsFile::open(d.file("x.safetensors"));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  auto& t = (*f)->tensors();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.at("a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.at("a").nbytes, 24u);
  EXPECT_EQ(t.at("b").dtype, DType::kBF16);
  EXPECT_EQ(t.at("b").describe(), "[5] BF16");
  const auto* b = static_cast<const uint8_t*>(t.at("b").data);
  EXPECT_EQ(b[3], uint8_t(3 * 7 + 1));
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
}

TEST(Safetensors, BadFiles) {
  TempDir d;
  struct Case {
    const char* name;
    std::string header;
    size_t data;
    const char* expect;  // substring of the message
  };
  const Case cases[] = {
      {"notjson", "{\"a\": [", 0, "JSON"},
      {"array", "[1,2]", 0, "object"},
      {"range", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "past end"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       16, "overlap"},
      {"size", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16, "bytes"},
      {"dtype", R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16, "dtype"},
      {"shape", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "shape"},
      {"offsets", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, "offsets"},
      {"noentry", R"({"a":5})", 0, "'a'"},
  };
  for (const Case& c : cases) {
    std::string p = d.file(std::string(c.name) + ".safetensors");
    write_raw(p, c.header, c.data);
    Status s = open_status(p);
    ASSERT_FALSE(s.is_ok()) << c.name;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.name << ": " << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  }
  // Truncated: header length past the end, and a file shorter than 8 bytes.
  std::string p = d.file("trunc.safetensors");
  write_text(p, std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
  EXPECT_EQ(open_status(p).code(), StatusCode::kInvalidArgument);
  write_text(p, "abc");
  EXPECT_EQ(open_status(p).code(), StatusCode::kInvalidArgument);
  write_text(p, std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8));
  EXPECT_EQ(open_status(p).code(), StatusCode::kInvalidArgument);
  // A real file cut short.
  std::vector<TensorSpec> specs = {{"w", DType::kF32, {64}}};
  ASSERT_TRUE(write_safetensors(p, specs, fill_pattern));
  fs::resize_file(p, fs::file_size(p) - 10);
  Status s = open_status(p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'w'"), std::string::npos) << s.message();
  EXPECT_EQ(open_status(d.file("missing.safetensors")).code(), StatusCode::kNotFound);
}

TEST(WeightStore, SingleAndSharded) {
  TempDir d;
  EXPECT_EQ(WeightStore::open_dir(d.str()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(WeightStore::open_dir(d.file("nope")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(write_safetensors(d.file("model-00001-of-00002.safetensors"),
                                {{"a", DType::kF32, {2}}}, fill_pattern));
  ASSERT_TRUE(write_safetensors(d.file("model-00002-of-00002.safetensors"),
                                {{"b", DType::kBF16, {3}}, {"c", DType::kF16, {1}}}, fill_pattern));
  write_text(d.file("model.safetensors.index.json"),
             R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors",
                 "c": "model-00002-of-00002.safetensors"}})");
  auto st = WeightStore::open_dir(d.str());
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ((*st)->files.size(), 2u);
  EXPECT_EQ((*st)->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*st)->total_bytes(), 8u + 6u + 2u);
  ASSERT_NE((*st)->find("b"), nullptr);
  EXPECT_EQ((*st)->find("zz"), nullptr);
  (*st)->prefetch();
  write_text(d.file("model.safetensors.index.json"),
             R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "q": "../evil"}})");
  EXPECT_EQ(WeightStore::open_dir(d.str()).status().code(), StatusCode::kInvalidArgument);
  write_text(d.file("model.safetensors.index.json"), "{bad");
  EXPECT_EQ(WeightStore::open_dir(d.str()).status().code(), StatusCode::kInvalidArgument);
}

// Copies a golden model's tensors into a new checkpoint, editing one.
void copy_with(const std::string& src_dir, const std::string& dst,
               const std::string& drop, const std::string& reshape, DType new_dtype) {
  auto src = SafetensorsFile::open(src_dir + "/model.safetensors");
  ASSERT_TRUE(src.is_ok());
  std::vector<TensorSpec> specs;
  std::vector<const TensorView*> views;
  for (auto& [name, t] : (*src)->tensors()) {
    if (name == drop) continue;
    TensorSpec s{name, t.dtype, t.shape};
    if (name == reshape) {
      if (new_dtype != t.dtype) {
        s.dtype = new_dtype;
      } else {
        s.shape[0] += 1;
      }
    }
    specs.push_back(s);
    views.push_back(&t);
  }
  ASSERT_TRUE(write_safetensors(dst, specs, [&](size_t i, size_t off, uint8_t* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(views[i]->data);
    for (size_t k = 0; k < n; ++k) p[k] = off + k < views[i]->nbytes ? b[off + k] : 0;
  }));
}

TEST(ModelWeights, GoldenAndBadTensors) {
  const std::string src = test::golden_model("qwen3-tiny");
  auto cfg = load_model_config(src);
  ASSERT_TRUE(cfg.is_ok());
  auto st = WeightStore::open_dir(src);
  ASSERT_TRUE(st.is_ok());
  auto w = load_model_weights(*cfg, *st);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ(w->layers.size(), 3u);
  EXPECT_FALSE(w->layers[0].q_norm.empty());
  EXPECT_NE(w->lm_head.data, w->embed_tokens.data);

  auto tied_cfg = load_model_config(test::golden_model("qwen2-tiny"));
  auto tied =
      load_model_weights(*tied_cfg, *WeightStore::open_dir(test::golden_model("qwen2-tiny")));
  ASSERT_TRUE(tied.is_ok()) << tied.status().to_string();
  EXPECT_EQ(tied->lm_head.data, tied->embed_tokens.data);
  EXPECT_FALSE(tied->layers[1].q_bias.empty());

  auto moe_cfg = load_model_config(test::golden_model("qwen3moe-tiny"));
  auto moe =
      load_model_weights(*moe_cfg, *WeightStore::open_dir(test::golden_model("qwen3moe-tiny")));
  ASSERT_TRUE(moe.is_ok()) << moe.status().to_string();
  EXPECT_EQ(moe->layers[0].expert_down.size(), 8u);

  TempDir d;
  const std::string name = "model.layers.1.self_attn.k_norm.weight";
  copy_with(src, d.file("model.safetensors"), name, "", DType::kBF16);
  auto r = load_model_weights(*cfg, *WeightStore::open_dir(d.str()));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(name), std::string::npos);

  const std::string q = "model.layers.2.self_attn.q_proj.weight";
  copy_with(src, d.file("model.safetensors"), "", q, DType::kBF16);
  r = load_model_weights(*cfg, *WeightStore::open_dir(d.str()));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(q), std::string::npos);
  EXPECT_NE(r.status().message().find("shape"), std::string::npos);

  const std::string n = "model.norm.weight";
  copy_with(src, d.file("model.safetensors"), "", n, DType::kI16);
  r = load_model_weights(*cfg, *WeightStore::open_dir(d.str()));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(n), std::string::npos);
  EXPECT_NE(r.status().message().find("dtype"), std::string::npos);
}

}  // namespace
}  // namespace yun
