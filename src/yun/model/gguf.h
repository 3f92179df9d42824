// GGUF files (llama.cpp's model format), version 2 and 3: a header of typed
// metadata key/values and tensor infos, then the tensor data, aligned.
//
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x  { string key | u32 type | value }
//   tensor_count x { string name | u32 n_dims | u64 dims[n_dims] (innermost
//                    first) | u32 ggml type | u64 offset (from data start) }
//   padding to general.alignment (default 32) | tensor data
//   string = u64 length | bytes (no terminator); array = u32 type | u64 n | n values
//
// Little-endian only. open() maps the file; parse() validates the whole
// header before anything is exposed: magic, version, counts against the bytes
// left, string lengths, UTF-8 keys, value types, array sizes and nesting,
// alignment (a power of two), tensor dims (1..4, no overflow), tensor types
// (model/weight_format.h), rows a whole number of blocks, offsets aligned and
// inside the data, no two tensors overlapping, no duplicate names. Errors:
// kInvalidArgument naming the file and the problem; never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/base/mapped_file.h"
#include "yun/base/status.h"
#include "yun/model/tensor.h"

namespace yun {

enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// One metadata value. Scalars: integers in `i` (u64 above INT64_MAX in `u`),
// floats in `f`, bools in `i` (0/1), strings in `s`. Arrays: `elem` is the
// element type and the elements are in `strs` (strings), `ints` (integers and
// bools), `floats` or `items` (arrays of arrays).
struct GgufValue {
  GgufType type = GgufType::kU8;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  std::string s;
  GgufType elem = GgufType::kU8;
  std::vector<std::string> strs;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<GgufValue> items;

  bool is_integer() const;  // any integer type (not bool)
  size_t array_size() const;
};

// A tensor as stored: dims innermost first (GGUF order). view() gives the
// row-major PyTorch order [.., rows, cols].
struct GgufTensor {
  std::string name;
  uint32_t ggml_type = 0;
  std::vector<int64_t> dims;
  uint64_t offset = 0;  // from the data start
  TensorView view;
};

class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path,
                                                FileLoad load = FileLoad::kMap);
  // Parses from memory (fuzzing, tests); `data` must outlive the object.
  static Result<std::unique_ptr<GgufFile>> parse(const uint8_t* data, size_t size,
                                                 const std::string& name);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& name() const { return name_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;
  const MappedFile& file() const { return file_; }

  // Typed lookups: nullopt when absent or of another type (integers of any
  // width convert when they fit int64; get_float also takes integers).
  const GgufValue* find(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;

 private:
  MappedFile file_;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> index_;
};

// True when `path` names a file that starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

}  // namespace yun
