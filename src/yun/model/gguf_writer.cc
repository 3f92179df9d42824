#include "yun/model/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "yun/model/weight_format.h"

namespace yun {
namespace {

constexpr uint64_t kAlign = 32;

template <typename T>
void put(std::vector<uint8_t>& b, T v) {
  const size_t n = b.size();
  b.resize(n + sizeof(T));
  std::memcpy(b.data() + n, &v, sizeof(T));
}
void put_str(std::vector<uint8_t>& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  const size_t n = b.size();
  b.resize(n + s.size());
  if (!s.empty()) std::memcpy(b.data() + n, s.data(), s.size());
}
uint64_t padded(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

void GgufWriter::kv(const std::string& key, uint32_t type) {
  put_str(meta_, key);
  put<uint32_t>(meta_, type);
  ++n_kv_;
}
void GgufWriter::set_u32(const std::string& k, uint32_t v) { kv(k, 4); put(meta_, v); }
void GgufWriter::set_i32(const std::string& k, int32_t v) { kv(k, 5); put(meta_, v); }
void GgufWriter::set_f32(const std::string& k, float v) { kv(k, 6); put(meta_, v); }
void GgufWriter::set_bool(const std::string& k, bool v) { kv(k, 7); put<uint8_t>(meta_, v); }
void GgufWriter::set_string(const std::string& k, const std::string& v) {
  kv(k, 8);
  put_str(meta_, v);
}
void GgufWriter::set_string_array(const std::string& k, const std::vector<std::string>& v) {
  kv(k, 9);
  put<uint32_t>(meta_, 8);
  put<uint64_t>(meta_, v.size());
  for (auto& s : v) put_str(meta_, s);
}
void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  kv(k, 9);
  put<uint32_t>(meta_, 5);
  put<uint64_t>(meta_, v.size());
  for (auto x : v) put(meta_, x);
}
void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  kv(k, 9);
  put<uint32_t>(meta_, 6);
  put<uint64_t>(meta_, v.size());
  for (auto x : v) put(meta_, x);
}

Status GgufWriter::add_tensor(const std::string& name, DType t, const std::vector<int64_t>& shape,
                              const void* data, size_t nbytes) {
  const WeightFormat* f = weight_format(t);
  if (!f) return invalid_argument("gguf: tensor '" + name + "' has no GGUF type");
  if (shape.empty()) return invalid_argument("gguf: tensor '" + name + "' has no shape");
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  auto want = format_bytes(t, numel);
  if (!want.is_ok() || shape.back() % f->block_elems != 0 || *want != nbytes)
    return invalid_argument("gguf: tensor '" + name + "' bytes disagree with its shape");
  for (auto& x : tensors_)
    if (x.name == name) return invalid_argument("gguf: tensor '" + name + "' added twice");
  tensors_.push_back({name, f->ggml_type, shape, data, nbytes});
  return Status::ok();
}

std::vector<uint8_t> GgufWriter::header() const {
  std::vector<uint8_t> h;
  put<uint32_t>(h, 0x46554747);
  put<uint32_t>(h, 3);
  put<uint64_t>(h, tensors_.size());
  put<uint64_t>(h, n_kv_);
  h.insert(h.end(), meta_.begin(), meta_.end());
  uint64_t off = 0;
  for (auto& t : tensors_) {
    put_str(h, t.name);
    put<uint32_t>(h, uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<uint64_t>(h, uint64_t(*it));
    put<uint32_t>(h, t.ggml_type);
    put<uint64_t>(h, off);
    off = padded(off + t.nbytes);
  }
  h.resize(padded(h.size()), 0);
  return h;
}

std::vector<uint8_t> GgufWriter::bytes() const {
  std::vector<uint8_t> b = header();
  for (auto& t : tensors_) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    b.insert(b.end(), p, p + t.nbytes);
    b.resize(padded(b.size()), 0);
  }
  return b;
}

Status GgufWriter::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return invalid_argument("cannot write " + path + ": " + std::strerror(errno));
  bool ok = true;
  auto w = [&](const void* p, size_t n) { ok = ok && std::fwrite(p, 1, n, f) == n; };
  const std::vector<uint8_t> h = header();
  w(h.data(), h.size());
  static const uint8_t zeros[kAlign] = {};
  for (auto& t : tensors_) {
    w(t.data, t.nbytes);
    w(zeros, padded(t.nbytes) - t.nbytes);
  }
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    return invalid_argument("cannot write " + path);
  }
  return Status::ok();
}

}  // namespace yun
