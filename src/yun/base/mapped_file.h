// MappedFile: a read-only memory map of a whole file (weights are never copied
// at load; pages come in on first touch). Move-only; unmaps on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "yun/base/status.h"

namespace yun {

class MappedFile {
 public:
  // Maps `path` read-only. Errors: kNotFound (missing), kInvalidArgument (a
  // directory, unreadable). An empty file maps to data()==nullptr, size()==0.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Hints the kernel to read the whole file ahead (MADV_WILLNEED).
  void prefetch() const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole (small) file into a string. Errors as MappedFile::open.
Result<std::string> read_file(const std::string& path);

}  // namespace yun
