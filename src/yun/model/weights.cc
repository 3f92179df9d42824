// Maps Hugging Face tensor names to ModelWeights and checks shapes/dtypes.
#include "yun/model/weights.h"

#include "yun/base/thread_pool.h"
#include "yun/model/decoder_spec.h"
#include "yun/model/safetensors.h"
#include "yun/model/weight_format.h"
#include "yun/model/weight_source.h"

namespace yun {

namespace {

bool is_float(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

class Loader {
 public:
  explicit Loader(const WeightSource& store) : store_(store) {}

  // Finds `name` and checks it; fills `out`. Optional tensors may be absent.
  // "model.X" may be stored as "X": a bare decoder's checkpoint (the
  // published Qwen3-Embedding, a Qwen3Model) has no "model." prefix.
  Status get(const std::string& name, std::vector<int64_t> shape, TensorView* out,
             bool optional = false) {
    const TensorView* t = store_.find(name);
    if (!t && name.rfind("model.", 0) == 0) t = store_.find(name.substr(6));
    if (!t) {
      if (optional) return Status::ok();
      return not_found("missing tensor '" + name + "' (expected " + shape_str(shape) + ")");
    }
    const bool matrix = shape.size() == 2;
    if (!(matrix ? weight_format(t->dtype) != nullptr : is_float(t->dtype)))
      return invalid_argument("tensor '" + name + "' has dtype " + dtype_name(t->dtype) +
                              (matrix ? " (not a weight format)" : " (expected F32, F16 or BF16)"));
    if (t->shape != shape)
      return invalid_argument("tensor '" + name + "' has shape " + shape_str(t->shape) +
                              ", expected " + shape_str(shape));
    if (matrix) {
      auto row = format_bytes(t->dtype, shape[1]);
      if (!row.is_ok()) return invalid_argument("tensor '" + name + "': " + row.status().message());
      if (*row * size_t(shape[0]) != t->nbytes)
        return invalid_argument("tensor '" + name + "' holds " + std::to_string(t->nbytes) +
                                " bytes, its shape needs " +
                                std::to_string(*row * size_t(shape[0])));
    }
    *out = *t;
    return Status::ok();
  }

  // Cuts `name` [E, rows, cols] into E views of rows [row0, row0 + n) each
  // (no copy). Absent: out stays empty.
  Status experts(const std::string& name, int64_t E, int64_t rows, int64_t cols, int64_t row0,
                 int64_t n, std::vector<TensorView>& out) {
    TensorView whole;
    YUN_RETURN_IF_ERROR(get(name, {E, rows, cols}, &whole));
    const size_t esz = dtype_size(whole.dtype);
    out.resize(size_t(E));
    for (int64_t e = 0; e < E; ++e) {
      TensorView& v = out[size_t(e)];
      v.dtype = whole.dtype;
      v.shape = {n, cols};
      v.nbytes = size_t(n * cols) * esz;
      v.data = static_cast<const uint8_t*>(whole.data) + size_t((e * rows + row0) * cols) * esz;
    }
    return Status::ok();
  }

  bool has(const std::string& name) const { return store_.find(name) != nullptr; }

 private:
  const WeightSource& store_;
};

// Gated DeltaNet tensors of a linear-attention layer (prefix p = "...layers.i.").
Status load_linear_attention(Loader& L, const ModelConfig& c, const std::string& p,
                             LayerWeights& l) {
  const DecoderSpec spec = build_decoder_spec(c);
  const LinearAttentionShape& s = spec.linear;
  const int64_t H = c.hidden_size, C = s.conv_channels(), Vs = s.value_size();
  const int64_t Hv = s.num_value_heads;
  const std::string a = p + "linear_attn.";
  YUN_RETURN_IF_ERROR(L.get(a + "in_proj_qkv.weight", {C, H}, &l.in_proj_qkv));
  YUN_RETURN_IF_ERROR(L.get(a + "in_proj_z.weight", {Vs, H}, &l.in_proj_z));
  YUN_RETURN_IF_ERROR(L.get(a + "in_proj_b.weight", {Hv, H}, &l.in_proj_b));
  YUN_RETURN_IF_ERROR(L.get(a + "in_proj_a.weight", {Hv, H}, &l.in_proj_a));
  YUN_RETURN_IF_ERROR(L.get(a + "conv1d.weight", {C, 1, s.conv_kernel}, &l.conv1d));
  YUN_RETURN_IF_ERROR(L.get(a + "A_log", {Hv}, &l.a_log));
  YUN_RETURN_IF_ERROR(L.get(a + "dt_bias", {Hv}, &l.dt_bias));
  YUN_RETURN_IF_ERROR(L.get(a + "norm.weight", {s.value_head_dim}, &l.linear_norm));
  YUN_RETURN_IF_ERROR(L.get(a + "out_proj.weight", {H, Vs}, &l.out_proj));
  return Status::ok();
}

// One decoder layer's tensors under prefix p ("...layers.i."): the mixer
// (full attention or Gated DeltaNet) and the MLP (dense or MoE).
Status load_layer(Loader& L, const ModelConfig& c, const std::string& p, bool full_attention,
                  bool moe, LayerWeights& l) {
  const int64_t H = c.hidden_size, KV = c.kv_size(), D = c.head_dim;
  const int64_t Q = c.q_size(), Qproj = c.attn_output_gate ? 2 * Q : Q;
  YUN_RETURN_IF_ERROR(L.get(p + "input_layernorm.weight", {H}, &l.input_norm));
  YUN_RETURN_IF_ERROR(L.get(p + "post_attention_layernorm.weight", {H}, &l.post_attention_norm));
  const std::string a = p + "self_attn.";
  if (!full_attention) {
    YUN_RETURN_IF_ERROR(load_linear_attention(L, c, p, l));
  } else {
    YUN_RETURN_IF_ERROR(L.get(a + "q_proj.weight", {Qproj, H}, &l.q_proj));
    YUN_RETURN_IF_ERROR(L.get(a + "k_proj.weight", {KV, H}, &l.k_proj));
    YUN_RETURN_IF_ERROR(L.get(a + "v_proj.weight", {KV, H}, &l.v_proj));
    YUN_RETURN_IF_ERROR(L.get(a + "o_proj.weight", {H, Q}, &l.o_proj));
    if (c.attention_bias) {
      YUN_RETURN_IF_ERROR(L.get(a + "q_proj.bias", {Q}, &l.q_bias));
      YUN_RETURN_IF_ERROR(L.get(a + "k_proj.bias", {KV}, &l.k_bias));
      YUN_RETURN_IF_ERROR(L.get(a + "v_proj.bias", {KV}, &l.v_bias));
    }
    if (c.attention_out_bias) YUN_RETURN_IF_ERROR(L.get(a + "o_proj.bias", {H}, &l.o_bias));
    if (c.qk_norm) {
      YUN_RETURN_IF_ERROR(L.get(a + "q_norm.weight", {D}, &l.q_norm));
      YUN_RETURN_IF_ERROR(L.get(a + "k_norm.weight", {D}, &l.k_norm));
    }
  }
  const std::string m = p + "mlp.";
  if (moe) {
    const int64_t E = c.num_experts, I = c.moe_intermediate_size;
    YUN_RETURN_IF_ERROR(L.get(m + "gate.weight", {E, H}, &l.router));
    if (c.shared_expert_intermediate_size > 0) {
      const int64_t S = c.shared_expert_intermediate_size;
      const std::string x = m + "shared_expert.";
      YUN_RETURN_IF_ERROR(L.get(x + "gate_proj.weight", {S, H}, &l.shared_gate));
      YUN_RETURN_IF_ERROR(L.get(x + "up_proj.weight", {S, H}, &l.shared_up));
      YUN_RETURN_IF_ERROR(L.get(x + "down_proj.weight", {H, S}, &l.shared_down));
      YUN_RETURN_IF_ERROR(L.get(m + "shared_expert_gate.weight", {1, H}, &l.shared_expert_gate));
    }
    if (L.has(m + "experts.gate_up_proj")) {
      // Fused layout: gate rows 0..I-1 then up rows I..2I-1 per expert.
      YUN_RETURN_IF_ERROR(L.experts(m + "experts.gate_up_proj", E, 2 * I, H, 0, I, l.expert_gate));
      YUN_RETURN_IF_ERROR(L.experts(m + "experts.gate_up_proj", E, 2 * I, H, I, I, l.expert_up));
      YUN_RETURN_IF_ERROR(L.experts(m + "experts.down_proj", E, H, I, 0, H, l.expert_down));
      return Status::ok();
    }
    l.expert_gate.resize(size_t(E));
    l.expert_up.resize(size_t(E));
    l.expert_down.resize(size_t(E));
    for (int64_t e = 0; e < E; ++e) {
      const std::string x = m + "experts." + std::to_string(e) + ".";
      YUN_RETURN_IF_ERROR(L.get(x + "gate_proj.weight", {I, H}, &l.expert_gate[size_t(e)]));
      YUN_RETURN_IF_ERROR(L.get(x + "up_proj.weight", {I, H}, &l.expert_up[size_t(e)]));
      YUN_RETURN_IF_ERROR(L.get(x + "down_proj.weight", {H, I}, &l.expert_down[size_t(e)]));
    }
  } else {
    const int64_t I = c.intermediate_size;
    YUN_RETURN_IF_ERROR(L.get(m + "gate_proj.weight", {I, H}, &l.gate_proj));
    YUN_RETURN_IF_ERROR(L.get(m + "up_proj.weight", {I, H}, &l.up_proj));
    YUN_RETURN_IF_ERROR(L.get(m + "down_proj.weight", {H, I}, &l.down_proj));
    if (c.mlp_bias) {
      YUN_RETURN_IF_ERROR(L.get(m + "gate_proj.bias", {I}, &l.gate_bias));
      YUN_RETURN_IF_ERROR(L.get(m + "up_proj.bias", {I}, &l.up_bias));
      YUN_RETURN_IF_ERROR(L.get(m + "down_proj.bias", {H}, &l.down_bias));
    }
  }
  return Status::ok();
}

}  // namespace

Result<ModelWeights> load_model_weights(const ModelConfig& c, std::shared_ptr<WeightSource> store) {
  if (!store) return invalid_argument("load_model_weights: no weight store");
  Loader L(*store);
  ModelWeights w;
  const int64_t H = c.hidden_size;
  const std::string root =
      L.has("model.language_model.embed_tokens.weight") ? "model.language_model." : "model.";
  YUN_RETURN_IF_ERROR(L.get(root + "embed_tokens.weight", {c.vocab_size, H}, &w.embed_tokens));
  YUN_RETURN_IF_ERROR(L.get(root + "norm.weight", {H}, &w.final_norm));
  if (c.tie_word_embeddings) {
    // Some tied checkpoints still store lm_head; prefer it when present.
    YUN_RETURN_IF_ERROR(L.get("lm_head.weight", {c.vocab_size, H}, &w.lm_head, true));
    if (w.lm_head.empty()) w.lm_head = w.embed_tokens;
  } else {
    YUN_RETURN_IF_ERROR(L.get("lm_head.weight", {c.vocab_size, H}, &w.lm_head));
  }
  w.layers.resize(size_t(c.num_hidden_layers));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = root + "layers." + std::to_string(i) + ".";
    YUN_RETURN_IF_ERROR(
        load_layer(L, c, p, c.is_full_attention_layer(i), c.is_moe_layer(i), w.layers[size_t(i)]));
  }
  w.store = std::move(store);
  return w;
}

Status load_mtp_weights(const ModelConfig& c, ModelWeights& w) {
  if (!w.store) return invalid_argument("load_mtp_weights: no weight store");
  Loader L(*w.store);
  if (!L.has("mtp.fc.weight"))
    return not_found("this checkpoint has no MTP head (no tensor 'mtp.fc.weight')");
  const int64_t H = c.hidden_size;
  MtpWeights m;
  YUN_RETURN_IF_ERROR(L.get("mtp.fc.weight", {H, 2 * H}, &m.fc));
  YUN_RETURN_IF_ERROR(L.get("mtp.pre_fc_norm_embedding.weight", {H}, &m.pre_fc_norm_embedding));
  YUN_RETURN_IF_ERROR(L.get("mtp.pre_fc_norm_hidden.weight", {H}, &m.pre_fc_norm_hidden));
  YUN_RETURN_IF_ERROR(L.get("mtp.norm.weight", {H}, &m.norm));
  // One full-attention layer with the model's MLP kind (MoE when layer 0 is).
  YUN_RETURN_IF_ERROR(load_layer(L, c, "mtp.layers.0.", true, c.is_moe_layer(0), m.layer));
  w.mtp = std::move(m);
  return Status::ok();
}

Status quantize_model_weights(ModelWeights& w, DType format) {
  const WeightFormat* f = weight_format(format);
  if (!f || !f->row_from_float)
    return invalid_argument(std::string("cannot quantize to ") + dtype_name(format));
  std::vector<TensorView*> todo = {&w.embed_tokens};
  const bool tied = w.lm_head.data == w.embed_tokens.data;
  if (!tied) todo.push_back(&w.lm_head);
  std::vector<LayerWeights*> layers;
  for (LayerWeights& l : w.layers) layers.push_back(&l);
  if (w.mtp) {
    todo.push_back(&w.mtp->fc);
    layers.push_back(&w.mtp->layer);
  }
  for (LayerWeights* lp : layers) {
    LayerWeights& l = *lp;
    for (TensorView* t :
         {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj})
      todo.push_back(t);
    for (auto* v : {&l.expert_gate, &l.expert_up, &l.expert_down})
      for (TensorView& t : *v) todo.push_back(&t);
  }
  for (TensorView* t : todo) {
    if (t->empty() || t->dtype == format || t->dim(1) % f->block_elems != 0) continue;
    if (is_block_format(t->dtype) && f->block_elems > 1) continue;  // no double quantization
    YUN_RETURN_IF_ERROR(quantize_tensor(w, *t, format));
  }
  if (tied) w.lm_head = w.embed_tokens;
  return Status::ok();
}

Status quantize_tensor(ModelWeights& w, TensorView& t, DType format) {
  const WeightFormat* f = weight_format(format);
  if (!f || !f->row_from_float)
    return invalid_argument(std::string("cannot quantize to ") + dtype_name(format));
  const int64_t rows = t.dim(0), cols = t.dim(1);
  YUN_ASSIGN_OR_RETURN(size_t row_bytes, format_bytes(format, cols));
  const WeightFormat* src = weight_format(t.dtype);
  if (!src) return invalid_argument(std::string("cannot decode ") + dtype_name(t.dtype));
  YUN_ASSIGN_OR_RETURN(const size_t src_row, format_bytes(t.dtype, cols));
  std::vector<uint8_t> out(row_bytes * size_t(rows));
  // Rows in parallel (the K-quant encoders search per sub-block: ~50 s for a
  // 0.5B model on one thread).
  static ThreadPool pool;
  pool.parallel_for(
      rows,
      [&](int64_t r0, int64_t r1) {
        std::vector<float> tmp(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
          src->row_to_float(static_cast<const uint8_t*>(t.data) + size_t(r) * src_row,
                            tmp.data(), cols);
          f->row_from_float(tmp.data(), out.data() + size_t(r) * row_bytes, cols);
        }
      },
      16);
  t.dtype = format;
  t.data = out.data();
  t.nbytes = out.size();
  w.owned.push_back(std::move(out));
  return Status::ok();
}

}  // namespace yun
