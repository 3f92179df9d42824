// MappedFile: a whole file, read-only in memory. By default a memory map (the
// file is never copied at load; pages come in on first touch and are shared
// with the page cache). FileLoad::kReadHugePages reads it instead into private
// memory backed by transparent huge pages where the kernel gives them (2 MiB
// pages: one TLB entry covers 512x more weights, so memory-bound decode runs
// faster), at the cost of a copy at load. Move-only; unmaps on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "yun/base/status.h"

namespace yun {

enum class FileLoad {
  kMap,            // mmap the file
  kReadHugePages,  // read it into anonymous memory advised MADV_HUGEPAGE
};

class MappedFile {
 public:
  // Opens `path` read-only. Errors: kNotFound (missing), kInvalidArgument (a
  // directory, unreadable, or shorter than its size while being read). An
  // empty file gives data()==nullptr, size()==0.
  static Result<MappedFile> open(const std::string& path, FileLoad load = FileLoad::kMap);

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
  void release();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes mapped at data_ (size_, or rounded up to 2 MiB)
  std::string path_;
};

// Reads a whole (small) file into a string. Errors as MappedFile::open.
Result<std::string> read_file(const std::string& path);

}  // namespace yun
