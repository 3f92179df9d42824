// GgufWriter: writes a GGUF version 3 file (layout in gguf.h) that
// llama.cpp and GgufFile read: metadata in the order added, tensors aligned
// to general.alignment (32), data streamed from the caller's buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "yun/base/status.h"
#include "yun/model/dtype.h"

namespace yun {

class GgufWriter {
 public:
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);

  // A tensor of format `t`, PyTorch shape (outermost first); `data` holds
  // its bytes and must stay valid until write(). Errors: kInvalidArgument
  // when nbytes disagrees with the shape and format, or the name repeats.
  Status add_tensor(const std::string& name, DType t, const std::vector<int64_t>& shape,
                    const void* data, size_t nbytes);

  // Writes the file (to PATH.tmp, then renamed). Errors: kInvalidArgument
  // when it cannot be written.
  Status write(const std::string& path) const;
  // The whole file in memory (tests).
  std::vector<uint8_t> bytes() const;

 private:
  struct Tensor {
    std::string name;
    uint32_t ggml_type;
    std::vector<int64_t> shape;
    const void* data;
    size_t nbytes;
  };
  void kv(const std::string& key, uint32_t type);
  std::vector<uint8_t> header() const;  // through the alignment padding

  std::vector<uint8_t> meta_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace yun
