// MsgpackWriter: a small MessagePack encoder (the subset KV-cache events use),
// writing the shortest encoding of each value as the spec and Python's
// msgspec do: non-negative integers as positive fixint / uint8..uint64,
// negative ones as negative fixint / int8..int64, doubles as float64,
// UTF-8 strings as fixstr / str8..str32, arrays and maps by their headers
// (the caller then writes exactly that many elements, or key/value pairs).
//
// Thread: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace yun::serve {

class MsgpackWriter {
 public:
  void nil() { out_ += '\xc0'; }
  void boolean(bool v) { out_ += v ? '\xc3' : '\xc2'; }
  void uint(uint64_t v);
  void sint(int64_t v);  // non-negative values take the unsigned forms
  void f64(double v);
  void str(std::string_view s);
  void array(uint32_t n);  // header of an array of n elements
  void map(uint32_t n);    // header of a map of n key/value pairs

  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void be(uint64_t v, int bytes);  // v's low `bytes` bytes, big-endian
  std::string out_;
};

}  // namespace yun::serve
