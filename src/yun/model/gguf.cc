// GGUF reader (see gguf.h). Every read goes through Cursor, which checks the
// bytes left first; counts are checked against the bytes they would need
// before anything is allocated.
#include "yun/model/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "yun/base/utf8.h"
#include "yun/model/weight_format.h"

namespace yun {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxDepth = 4;             // arrays of arrays
constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;
constexpr uint32_t kMaxDims = 4;

struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  size_t left() const { return size_t(end - p); }
  bool take(void* out, size_t n) {
    if (left() < n) return false;
    std::memcpy(out, p, n);
    p += n;
    return true;
  }
  bool u32(uint32_t* v) { return take(v, 4); }
  bool u64(uint64_t* v) { return take(v, 8); }
};

// Bytes a value of `t` needs at least (for count checks); 0 for unknown.
size_t min_bytes(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 0;
}

class Parser {
 public:
  Parser(const uint8_t* data, size_t size, const std::string& name)
      : c_{data, data + size}, name_(name) {}

  Status bad(const std::string& what) const {
    return invalid_argument(name_ + ": " + what + " (at byte " + std::to_string(pos()) + ")");
  }
  size_t pos() const { return size_t(c_.p - begin_); }
  void set_begin(const uint8_t* b) { begin_ = b; }
  Cursor& cursor() { return c_; }

  Status string(std::string* out, const char* what) {
    uint64_t n;
    if (!c_.u64(&n)) return bad(std::string("truncated ") + what + " length");
    if (n > kMaxStringBytes || n > c_.left())
      return bad(std::string(what) + " length " + std::to_string(n) + " past end of file");
    out->assign(reinterpret_cast<const char*>(c_.p), size_t(n));
    c_.p += n;
    return Status::ok();
  }

  Status scalar(GgufType t, GgufValue* v) {
    uint8_t b[8] = {};
    const size_t n = min_bytes(t);
    if (!c_.take(b, n)) return bad("truncated value");
    switch (t) {
      case GgufType::kU8: v->i = b[0]; break;
      case GgufType::kI8: v->i = int8_t(b[0]); break;
      case GgufType::kBool:
        if (b[0] > 1) return bad("bool value " + std::to_string(b[0]));
        v->i = b[0];
        break;
      case GgufType::kU16: { uint16_t x; std::memcpy(&x, b, 2); v->i = x; break; }
      case GgufType::kI16: { int16_t x; std::memcpy(&x, b, 2); v->i = x; break; }
      case GgufType::kU32: { uint32_t x; std::memcpy(&x, b, 4); v->i = x; break; }
      case GgufType::kI32: { int32_t x; std::memcpy(&x, b, 4); v->i = x; break; }
      case GgufType::kU64: {
        std::memcpy(&v->u, b, 8);
        v->i = v->u > uint64_t(INT64_MAX) ? -1 : int64_t(v->u);
        break;
      }
      case GgufType::kI64: std::memcpy(&v->i, b, 8); break;
      case GgufType::kF32: { float x; std::memcpy(&x, b, 4); v->f = x; break; }
      case GgufType::kF64: std::memcpy(&v->f, b, 8); break;
      default: return bad("not a scalar type");
    }
    if (t != GgufType::kU64 && t != GgufType::kF32 && t != GgufType::kF64) v->u = uint64_t(v->i);
    return Status::ok();
  }

  Status value(GgufType t, GgufValue* v, int depth) {
    v->type = t;
    if (t == GgufType::kString) return string(&v->s, "string value");
    if (t != GgufType::kArray) {
      if (min_bytes(t) == 0) return bad("unknown value type " + std::to_string(uint32_t(t)));
      return scalar(t, v);
    }
    if (depth >= kMaxDepth) return bad("arrays nested too deep");
    uint32_t et;
    uint64_t n;
    if (!c_.u32(&et) || !c_.u64(&n)) return bad("truncated array header");
    const GgufType e = GgufType(et);
    if (et > uint32_t(GgufType::kF64) || min_bytes(e) == 0)
      return bad("unknown array element type " + std::to_string(et));
    v->elem = e;
    if (n > c_.left() / min_bytes(e))
      return bad("array of " + std::to_string(n) + " elements past end of file");
    if (e == GgufType::kString) {
      v->strs.resize(size_t(n));
      for (auto& s : v->strs) YUN_RETURN_IF_ERROR(string(&s, "array string"));
    } else if (e == GgufType::kArray) {
      v->items.resize(size_t(n));
      for (auto& it : v->items) YUN_RETURN_IF_ERROR(value(e, &it, depth + 1));
    } else if (e == GgufType::kF32 || e == GgufType::kF64) {
      v->floats.resize(size_t(n));
      GgufValue x;
      for (auto& f : v->floats) {
        YUN_RETURN_IF_ERROR(scalar(e, &x));
        f = x.f;
      }
    } else {
      v->ints.resize(size_t(n));
      GgufValue x;
      for (auto& i : v->ints) {
        YUN_RETURN_IF_ERROR(scalar(e, &x));
        i = x.i;
      }
    }
    return Status::ok();
  }

 private:
  Cursor c_;
  const uint8_t* begin_ = nullptr;
  std::string name_;
};

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16:
    case GgufType::kU32: case GgufType::kI32: case GgufType::kU64: case GgufType::kI64:
      return true;
    default:
      return false;
  }
}

size_t GgufValue::array_size() const {
  if (type != GgufType::kArray) return 0;
  return std::max({strs.size(), ints.size(), floats.size(), items.size()});
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(const uint8_t* data, size_t size,
                                                  const std::string& name) {
  Parser P(data, size, name);
  P.set_begin(data);
  Cursor& c = P.cursor();
  auto out = std::make_unique<GgufFile>();
  out->name_ = name;
  uint32_t magic = 0;
  if (!c.u32(&magic) || magic != kMagic) return P.bad("not a GGUF file (bad magic)");
  if (!c.u32(&out->version_)) return P.bad("truncated header");
  if (out->version_ != 2 && out->version_ != 3)
    return P.bad("unsupported GGUF version " + std::to_string(out->version_) + " (2 or 3)");
  uint64_t n_tensors, n_kv;
  if (!c.u64(&n_tensors) || !c.u64(&n_kv)) return P.bad("truncated header");
  // A kv needs >= 8 + 4 + 1 bytes, a tensor info >= 8 + 4 + 8 + 4 + 8.
  if (n_kv > c.left() / 13) return P.bad("metadata count " + std::to_string(n_kv) + " too large");
  if (n_tensors > c.left() / 32)
    return P.bad("tensor count " + std::to_string(n_tensors) + " too large");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    YUN_RETURN_IF_ERROR(P.string(&key, "key"));
    if (key.empty()) return P.bad("empty metadata key");
    if (!is_valid_utf8(key)) return P.bad("metadata key is not valid UTF-8");
    uint32_t t;
    if (!c.u32(&t)) return P.bad("truncated metadata type of '" + key + "'");
    if (t > uint32_t(GgufType::kF64))
      return P.bad("metadata '" + key + "' has unknown type " + std::to_string(t));
    GgufValue v;
    YUN_RETURN_IF_ERROR(P.value(GgufType(t), &v, 0));
    if (!out->kv_.emplace(key, std::move(v)).second)
      return P.bad("metadata key '" + key + "' appears twice");
  }
  if (const GgufValue* a = out->find("general.alignment")) {
    if (a->type != GgufType::kU32 || a->i == 0 || (a->i & (a->i - 1)) != 0)
      return P.bad("general.alignment must be a u32 power of two");
    out->alignment_ = uint32_t(a->i);
  }
  out->tensors_.resize(size_t(n_tensors));
  for (auto& t : out->tensors_) {
    YUN_RETURN_IF_ERROR(P.string(&t.name, "tensor name"));
    if (t.name.empty() || !is_valid_utf8(t.name)) return P.bad("bad tensor name");
    const std::string tn = "tensor '" + t.name + "'";
    uint32_t nd;
    if (!c.u32(&nd)) return P.bad("truncated " + tn);
    if (nd < 1 || nd > kMaxDims) return P.bad(tn + " has " + std::to_string(nd) + " dimensions");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t v;
      if (!c.u64(&v)) return P.bad("truncated " + tn);
      if (v == 0 || v > (uint64_t(1) << 40)) return P.bad(tn + " has dimension " + std::to_string(v));
      if (numel > (uint64_t(1) << 50) / v) return P.bad(tn + " is too large");
      numel *= v;
      t.dims.push_back(int64_t(v));
    }
    if (!c.u32(&t.ggml_type) || !c.u64(&t.offset)) return P.bad("truncated " + tn);
    const WeightFormat* f = weight_format_by_ggml_type(t.ggml_type);
    if (!f) return P.bad(tn + " has unsupported type " + std::to_string(t.ggml_type));
    if (t.dims[0] % f->block_elems != 0)
      return P.bad(tn + " rows of " + std::to_string(t.dims[0]) + " are not whole " + f->name +
                   " blocks");
    if (t.offset % out->alignment_ != 0) return P.bad(tn + " offset is not aligned");
    t.view.dtype = f->dtype;
    t.view.shape.assign(t.dims.rbegin(), t.dims.rend());
    t.view.nbytes = size_t(numel / uint64_t(f->block_elems)) * f->block_bytes;
    if (!out->index_.emplace(t.name, size_t(&t - out->tensors_.data())).second)
      return P.bad(tn + " appears twice");
  }
  const size_t header_end = P.pos();
  const size_t data_start = (header_end + out->alignment_ - 1) / out->alignment_ * out->alignment_;
  if (n_tensors > 0 && data_start > size) return P.bad("data section past end of file");
  const uint64_t data_size = n_tensors > 0 ? size - data_start : 0;
  std::vector<std::pair<uint64_t, const GgufTensor*>> spans;
  for (auto& t : out->tensors_) {
    if (t.offset > data_size || t.view.nbytes > data_size - t.offset)
      return invalid_argument(name + ": tensor '" + t.name + "' " + dims_str(t.dims) + " " +
                              dtype_name(t.view.dtype) + " needs bytes [" +
                              std::to_string(t.offset) + ", " +
                              std::to_string(t.offset + t.view.nbytes) + ") past end of data (" +
                              std::to_string(data_size) + " bytes)");
    t.view.data = data + data_start + t.offset;
    spans.push_back({t.offset, &t});
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < spans.size(); ++i) {
    const GgufTensor* prev = spans[i - 1].second;
    if (spans[i].first < prev->offset + prev->view.nbytes)
      return invalid_argument(name + ": tensors '" + prev->name + "' and '" +
                              spans[i].second->name + "' overlap");
  }
  return out;
}

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path, FileLoad load) {
  YUN_ASSIGN_OR_RETURN(MappedFile mf, MappedFile::open(path, load));
  YUN_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, parse(mf.data(), mf.size(), path));
  f->file_ = std::move(mf);  // the mapping keeps its address: views stay valid
  return f;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_integer()) return std::nullopt;
  if (v->type == GgufType::kU64 && v->u > uint64_t(INT64_MAX)) return std::nullopt;
  return v->i;
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufType::kF32 || v->type == GgufType::kF64) return v->f;
  if (v->is_integer()) return double(v->i);
  return std::nullopt;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kString) return std::nullopt;
  return v->s;
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kBool) return std::nullopt;
  return v->i != 0;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char m[4] = {};
  if (!in.read(m, 4)) return false;
  return std::memcmp(m, "GGUF", 4) == 0;
}

}  // namespace yun
