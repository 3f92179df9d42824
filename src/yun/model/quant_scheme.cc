// The Q4_K_M scheme (see quant_scheme.h).
#include "yun/model/quant_scheme.h"

#include <cctype>
#include <string>

#include "yun/model/weight_format.h"

namespace yun {

std::optional<QuantScheme> quant_scheme_by_name(std::string_view name) {
  std::string n;
  for (char c : name) n += char(std::tolower(static_cast<unsigned char>(c)));
  if (n == "q4_k_m" || n == "q4_k") return QuantScheme::kQ4_K_M;
  return std::nullopt;
}

const char* quant_scheme_name(QuantScheme) { return "Q4_K_M"; }
uint32_t quant_scheme_file_type(QuantScheme) { return 15; }  // LLAMA_FTYPE_MOSTLY_Q4_K_M

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

DType quant_scheme_format(QuantScheme, MatrixRole role, int i, int n) {
  switch (role) {
    case MatrixRole::kOutput:
      return DType::kQ6_K;
    case MatrixRole::kAttnV:
    case MatrixRole::kFfnDown:
      return use_more_bits(i, n) ? DType::kQ6_K : DType::kQ4_K;
    default:
      return DType::kQ4_K;
  }
}

std::optional<DType> fit_row_format(DType t, int64_t cols) {
  const WeightFormat* f = weight_format(t);
  if (f && cols % f->block_elems == 0) return t;
  DType fb = t == DType::kQ4_K ? DType::kQ5_0 : t == DType::kQ6_K ? DType::kQ8_0 : t;
  const WeightFormat* g = weight_format(fb);
  if (fb != t && g && cols % g->block_elems == 0) return fb;
  return std::nullopt;
}

Status quantize_model_weights(ModelWeights& w, QuantScheme s) {
  const bool tied = w.lm_head.data == w.embed_tokens.data;
  auto apply = [&](TensorView& t, MatrixRole role, int i, int n) -> Status {
    if (t.empty() || is_block_format(t.dtype)) return Status::ok();
    const std::optional<DType> f = fit_row_format(quant_scheme_format(s, role, i, n), t.dim(1));
    if (!f) return Status::ok();
    return quantize_tensor(w, t, *f);
  };
  YUN_RETURN_IF_ERROR(
      apply(w.embed_tokens, tied ? MatrixRole::kOutput : MatrixRole::kTokenEmbedding, 0, 1));
  if (!tied) YUN_RETURN_IF_ERROR(apply(w.lm_head, MatrixRole::kOutput, 0, 1));
  const int n_layers = int(w.layers.size());
  int n_attn = 0;
  for (const LayerWeights& l : w.layers) n_attn += l.v_proj.empty() ? 0 : 1;
  int i_attn = 0;
  for (int i = 0; i < n_layers; ++i) {
    LayerWeights& l = w.layers[size_t(i)];
    if (!l.v_proj.empty())
      YUN_RETURN_IF_ERROR(apply(l.v_proj, MatrixRole::kAttnV, i_attn++, n_attn));
    for (TensorView* t : {&l.q_proj, &l.k_proj, &l.o_proj, &l.gate_proj, &l.up_proj})
      YUN_RETURN_IF_ERROR(apply(*t, MatrixRole::kOther, i, n_layers));
    YUN_RETURN_IF_ERROR(apply(l.down_proj, MatrixRole::kFfnDown, i, n_layers));
    for (auto* v : {&l.expert_gate, &l.expert_up})
      for (TensorView& t : *v) YUN_RETURN_IF_ERROR(apply(t, MatrixRole::kOther, i, n_layers));
    for (TensorView& t : l.expert_down)
      YUN_RETURN_IF_ERROR(apply(t, MatrixRole::kFfnDown, i, n_layers));
  }
  if (tied) w.lm_head = w.embed_tokens;
  return Status::ok();
}

}  // namespace yun
