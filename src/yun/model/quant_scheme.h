// Mixed-precision quantization schemes: which block format each matrix of a
// model gets, as llama.cpp's `llama-quantize` chooses for its Q4_K_M type
// (its llama_tensor_get_type, restated; the 8-expert and Falcon special
// cases are not followed).
//
// Q4_K_M, per matrix:
//   * the output projection (lm_head), or the token embedding when the two
//     are tied (the embedding is then the output too): Q6_K;
//   * attention V and MLP down projections: Q6_K on the layers where
//     use_more_bits holds (the first and last eighth of the layers, and every
//     third layer in between), Q4_K elsewhere (V counts attention layers
//     only, so hybrid models index their attention layers 0, 1, ...);
//   * everything else (token embedding when untied, Q, K, O, gate, up,
//     experts' gate/up): Q4_K.
// A matrix whose rows are not whole 256-element super-blocks falls back as
// llama.cpp does: Q4_K -> Q5_0, Q6_K -> Q8_0 (rows that are not whole
// 32-blocks either keep their stored format). On Qwen2.5-0.5B (hidden 896 =
// 3.5 x 256) that makes most matrices Q5_0 and the tied embedding Q8_0; the
// MLP down projections (4864 = 19 x 256 columns) stay K-quants.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "yun/base/status.h"
#include "yun/model/config.h"
#include "yun/model/dtype.h"
#include "yun/model/weights.h"

namespace yun {

enum class QuantScheme : int { kQ4_K_M };

// "q4_k_m" or "q4_k" (the same scheme; case-insensitive); nullopt otherwise.
std::optional<QuantScheme> quant_scheme_by_name(std::string_view name);
const char* quant_scheme_name(QuantScheme s);  // "Q4_K_M"
// llama.cpp's general.file_type for a file written with the scheme (15).
uint32_t quant_scheme_file_type(QuantScheme s);

// The role a matrix plays, as the scheme tells matrices apart.
enum class MatrixRole { kTokenEmbedding, kOutput, kAttnV, kFfnDown, kOther };

// llama.cpp's rule for the layers that get more bits: i < n/8, i >= 7n/8,
// or (i - n/8) % 3 == 2.
bool use_more_bits(int i, int n);

// The format before the row-length fallback; i of n counts the layers that
// have that role (see above).
DType quant_scheme_format(QuantScheme s, MatrixRole role, int i, int n);
// `t` for rows of `cols` elements: t if they are whole blocks of t, else
// llama.cpp's fallback (Q4_K -> Q5_0, Q6_K -> Q8_0) if those fit, else
// std::nullopt (keep the stored format).
std::optional<DType> fit_row_format(DType t, int64_t cols);

// Re-encodes every matrix quantize_model_weights would (weights.h), each in
// the format the scheme gives it. Matrices already in a block format stay.
Status quantize_model_weights(ModelWeights& w, QuantScheme s);

}  // namespace yun
