#include "yun/model/safetensors_writer.h"

#include <cstdio>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

namespace yun {

size_t TensorSpec::nbytes() const {
  size_t n = dtype_size(dtype);
  for (auto d : shape) n *= size_t(d);
  return n;
}

std::string safetensors_header(const std::vector<TensorSpec>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    h["__metadata__"] = nlohmann::ordered_json::object();
    for (auto& [k, v] : metadata) h["__metadata__"][k] = v;
  }
  size_t off = 0;
  for (auto& t : tensors) {
    size_t n = t.nbytes();
    h[t.name] = {{"dtype", dtype_name(t.dtype)},
                 {"shape", t.shape},
                 {"data_offsets", {off, off + n}}};
    off += n;
  }
  return h.dump();
}

Status write_safetensors(const std::string& path, const std::vector<TensorSpec>& tensors,
                         const TensorFill& fill,
                         const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (auto& t : tensors) {
    if (!names.insert(t.name).second)
      return invalid_argument(path + ": duplicate tensor '" + t.name + "'");
  }
  std::string header = safetensors_header(tensors, metadata);
  while (header.size() % 8 != 0) header.push_back(' ');
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return invalid_argument("cannot write " + path);
  uint8_t len[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(n >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f.get()) == 8 &&
            std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  constexpr size_t kChunk = size_t(8) << 20;
  std::vector<uint8_t> buf;
  for (size_t i = 0; ok && i < tensors.size(); ++i) {
    const size_t total = tensors[i].nbytes();
    buf.resize(std::min(total, kChunk));
    for (size_t off = 0; ok && off < total; off += kChunk) {
      size_t m = std::min(kChunk, total - off);
      fill(i, off, buf.data(), m);
      ok = std::fwrite(buf.data(), 1, m, f.get()) == m;
    }
  }
  if (!ok) return invalid_argument("write failed: " + path);
  if (std::fclose(f.release()) != 0) return invalid_argument("write failed: " + path);
  return Status::ok();
}

}  // namespace yun
