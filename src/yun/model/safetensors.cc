// Safetensors reader: validates the header fully before any tensor is exposed.
//
// Layout: [u64 little-endian header length N][N bytes JSON header][data].
// Header: {"__metadata__": {str: str}, "name": {"dtype": "BF16", "shape": [..],
// "data_offsets": [begin, end]}, ...}, offsets relative to the data area.
#include "yun/model/safetensors.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "yun/base/json_limits.h"

namespace yun {

using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t(256) << 20;  // 256 MiB
constexpr size_t kMaxDims = 16;

Status bad(const std::string& name, const std::string& what) {
  return invalid_argument(name + ": " + what);
}

bool get_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return false;
    *out = uint64_t(i);
    return true;
  }
  return false;
}

struct Span {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::parse(const uint8_t* data, size_t size,
                                                                const std::string& name) {
  if (size < 8) return bad(name, "file too short for a safetensors header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeaderBytes) return bad(name, "header length " + std::to_string(n) + " too large");
  if (n > size - 8)
    return bad(name, "header length " + std::to_string(n) + " past end of file (" +
                         std::to_string(size) + " bytes)");
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  auto parsed = parse_json_bounded<json>(std::string_view(hbegin, n), JsonLimits::model_file());
  if (!parsed.is_ok()) return bad(name, "header: " + parsed.status().message());
  const json& header = *parsed;
  if (!header.is_object()) return bad(name, "header is not a JSON object");

  const uint8_t* base = data + 8 + n;
  const uint64_t data_size = size - 8 - n;
  auto out = std::make_unique<SafetensorsFile>();
  std::vector<Span> spans;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& key = it.key();
      const json& v = it.value();
      if (key == "__metadata__") {
        if (v.is_null()) continue;
        if (!v.is_object()) return bad(name, "__metadata__ is not an object");
        for (auto m = v.begin(); m != v.end(); ++m)
          out->metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>()
                                                          : m.value().dump();
        continue;
      }
      std::string tname = "tensor '" + key + "'";
      if (!v.is_object()) return bad(name, tname + " entry is not an object");
      auto dt = v.find("dtype");
      auto sh = v.find("shape");
      auto off = v.find("data_offsets");
      if (dt == v.end() || !dt->is_string()) return bad(name, tname + " has no dtype");
      TensorView t;
      std::string dts = dt->get<std::string>();
      if (!parse_dtype(dts, &t.dtype)) return bad(name, tname + " has unknown dtype '" + dts + "'");
      if (sh == v.end() || !sh->is_array()) return bad(name, tname + " has no shape");
      if (sh->size() > kMaxDims) return bad(name, tname + " has too many dimensions");
      uint64_t numel = 1;
      bool overflow = false;
      for (auto& d : *sh) {
        uint64_t u;
        if (!get_u64(d, &u)) return bad(name, tname + " has a bad shape");
        if (u > (uint64_t(1) << 48)) return bad(name, tname + " has a bad shape");
        t.shape.push_back(int64_t(u));
        if (u != 0 && numel > (uint64_t(1) << 62) / u) overflow = true;
        numel *= u;
      }
      if (overflow) return bad(name, tname + " is too large");
      if (off == v.end() || !off->is_array() || off->size() != 2)
        return bad(name, tname + " has no data_offsets [begin, end]");
      uint64_t b, e;
      if (!get_u64((*off)[0], &b) || !get_u64((*off)[1], &e) || b > e)
        return bad(name, tname + " has bad data_offsets");
      if (e > data_size)
        return bad(name, tname + " data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                             "] past end of data (" + std::to_string(data_size) + " bytes)");
      uint64_t want = numel * dtype_size(t.dtype);
      if (want != e - b)
        return bad(name, tname + " " + t.describe() + " needs " + std::to_string(want) +
                             " bytes, data_offsets span " + std::to_string(e - b));
      t.data = base + b;
      t.nbytes = size_t(want);
      auto [pos, inserted] = out->tensors_.emplace(key, std::move(t));
      if (!inserted) return bad(name, tname + " appears twice");
      spans.push_back({b, e, &pos->first});
    }
  } catch (const std::exception& e) {
    return bad(name, std::string("bad header: ") + e.what());
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  const Span* last = nullptr;  // the non-empty span reaching furthest so far
  for (auto& sp : spans) {
    if (sp.end == sp.begin) continue;
    if (last && sp.begin < last->end)
      return bad(name, "tensors '" + *last->name + "' and '" + *sp.name + "' overlap");
    if (!last || sp.end > last->end) last = &sp;
  }
  return out;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path,
                                                               FileLoad load) {
  auto mf = MappedFile::open(path, load);
  if (!mf.is_ok()) return mf.status();
  auto parsed = parse(mf->data(), mf->size(), path);
  if (!parsed.is_ok()) return parsed.status();
  // Moving the mapping keeps its address, so the views stay valid.
  (*parsed)->file_ = std::move(*mf);
  return std::move(*parsed);
}

Result<std::shared_ptr<WeightStore>> WeightStore::open_dir(const std::string& model_dir,
                                                           FileLoad load) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) return not_found("model directory not found: " + model_dir);
  auto store = std::make_shared<WeightStore>();
  std::string single = model_dir + "/model.safetensors";
  std::string index_path = model_dir + "/model.safetensors.index.json";
  std::vector<std::string> shards;
  std::map<std::string, std::string> weight_map;
  if (fs::exists(single, ec)) {
    shards.push_back("model.safetensors");
  } else if (fs::exists(index_path, ec)) {
    auto text = read_file(index_path);
    if (!text.is_ok()) return text.status();
    auto parsed = parse_json_bounded<json>(*text, JsonLimits::model_file());
    if (!parsed.is_ok()) return bad(index_path, parsed.status().message());
    const json& j = *parsed;
    if (!j.is_object()) return bad(index_path, "invalid JSON");
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) return bad(index_path, "no weight_map object");
    std::set<std::string> seen;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string()) return bad(index_path, "weight_map value is not a file name");
      std::string f = it.value().get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        return bad(index_path, "bad shard name '" + f + "'");
      weight_map[it.key()] = f;
      if (seen.insert(f).second) shards.push_back(f);
    }
    if (shards.empty()) return bad(index_path, "weight_map is empty");
  } else {
    return not_found("no model.safetensors or model.safetensors.index.json in " + model_dir);
  }
  std::map<std::string, size_t> file_of;  // shard name -> files index
  for (auto& s : shards) {
    auto f = SafetensorsFile::open(model_dir + "/" + s, load);
    if (!f.is_ok()) return f.status();
    file_of[s] = store->files.size();
    store->files.push_back(std::move(*f));
  }
  for (size_t i = 0; i < store->files.size(); ++i) {
    for (auto& [name, t] : store->files[i]->tensors()) {
      auto wm = weight_map.find(name);
      // With an index, a tensor belongs to the shard the index names.
      if (!weight_map.empty() && (wm == weight_map.end() || file_of[wm->second] != i)) continue;
      if (!store->index.emplace(name, &t).second)
        return bad(store->files[i]->file().path(), "tensor '" + name + "' is in two shards");
    }
  }
  for (auto& [name, shard] : weight_map) {
    if (!store->index.count(name))
      return not_found(model_dir + "/" + shard + ": tensor '" + name +
                       "' listed in the index is missing");
  }
  return store;
}

const TensorView* WeightStore::find(const std::string& name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(index.size());
  for (auto& kv : index) out.push_back(kv.first);
  return out;
}

size_t WeightStore::total_bytes() const {
  size_t n = 0;
  for (auto& kv : index) n += kv.second->nbytes;
  return n;
}

void WeightStore::prefetch() const {
  for (auto& f : files) f->file().prefetch();
}

}  // namespace yun
