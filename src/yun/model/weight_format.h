// Weight formats: the one table of how a weight tensor's elements are stored.
//
// Plain formats (F32, F16, BF16) hold one element per "block". Block formats
// (GGUF's quantized types) hold a fixed number of elements per block of bytes:
//
//   Q8_0  32 elements, 34 bytes:  f16 scale d, int8 q[32];           x = d*q
//   Q4_0  32 elements, 18 bytes:  f16 d, 16 bytes of nibbles; low nibbles
//         are elements 0..15, high nibbles 16..31;                  x = d*(q-8)
//   Q5_0  32 elements, 22 bytes:  f16 d, u32 of fifth bits (bit j for
//         element j), 16 bytes of nibbles as Q4_0;               x = d*(q-16)
//   Q4_K  256 elements, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit
//         scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles;
//         x = d*sc*q - dmin*m
//   Q5_K  256 elements, 176 bytes: as Q4_K plus 32 bytes of high bits
//   Q6_K  256 elements, 210 bytes: 128 bytes low nibbles, 64 bytes of 2-bit
//         high parts, int8 scales[16] (one per 16 elements), f16 d;
//         x = d*sc*(q-32)
//
// A row of a matrix is a whole number of blocks (GGUF requires it). Adding a
// format costs one row of the table (weight_format.cc), its matmul kernels
// (compute/cpu/quant_*) and their tests; runners and the engine do not change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "yun/base/status.h"
#include "yun/model/dtype.h"

namespace yun {

struct WeightFormat {
  DType dtype;
  const char* name;       // "Q8_0", as GGUF and llama.cpp spell it
  uint32_t ggml_type;     // the GGUF tensor type id
  int64_t block_elems;    // elements per block (1 for plain formats)
  size_t block_bytes;     // bytes per block
  // Decodes n elements (a multiple of block_elems) at src into dst.
  void (*row_to_float)(const void* src, float* dst, int64_t n);
  // Encodes n floats (a multiple of block_elems); nullptr when yun cannot
  // write the format.
  void (*row_from_float)(const float* src, void* dst, int64_t n);
};

// The traits of `t`, or nullptr when t is not a weight format (I32, ...).
const WeightFormat* weight_format(DType t);
// By GGUF type id; nullptr when yun does not read that type.
const WeightFormat* weight_format_by_ggml_type(uint32_t ggml_type);
// By name, case-insensitive ("q8_0", "BF16"); nullptr when unknown.
const WeightFormat* weight_format_by_name(std::string_view name);

// True for formats with more than one element per block.
bool is_block_format(DType t);

// Bytes of n elements of `t`. Errors: kInvalidArgument when t is not a weight
// format or n is not a whole number of blocks, naming both.
Result<size_t> format_bytes(DType t, int64_t n);

}  // namespace yun
