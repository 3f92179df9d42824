// MappedFile: both ways of loading a file give its exact bytes; the read one
// sits on a 2 MiB boundary (so huge pages can back it) and reports errors.
#include "yun/base/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace yun {
namespace {

std::string write_temp(const std::vector<uint8_t>& bytes) {
  char path[] = "/tmp/yun-mapped-file-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = write(fd, bytes.data() + off, bytes.size() - off);
    if (w <= 0) break;
    off += size_t(w);
  }
  close(fd);
  return path;
}

TEST(MappedFile, ReadAndMappedGiveTheSameBytes) {
  std::mt19937 rng(7);
  // Odd sizes around page and huge-page boundaries.
  for (size_t n :
       {size_t{1}, size_t{4095}, size_t{4097}, (size_t{2} << 20) + 3, (size_t{5} << 20) - 1}) {
    std::vector<uint8_t> bytes(n);
    for (auto& b : bytes) b = uint8_t(rng());
    const std::string path = write_temp(bytes);
    for (FileLoad load : {FileLoad::kMap, FileLoad::kReadHugePages}) {
      auto f = MappedFile::open(path, load);
      ASSERT_TRUE(f.is_ok()) << f.status().to_string();
      ASSERT_EQ(f->size(), n);
      EXPECT_EQ(std::memcmp(f->data(), bytes.data(), n), 0) << n;
      if (load == FileLoad::kReadHugePages)
        EXPECT_EQ(reinterpret_cast<uintptr_t>(f->data()) % (uintptr_t{2} << 20), 0u);
      MappedFile moved = std::move(*f);  // the bytes stay where they were
      EXPECT_EQ(std::memcmp(moved.data(), bytes.data(), n), 0);
      EXPECT_EQ(f->data(), nullptr);
    }
    std::remove(path.c_str());
  }
}

TEST(MappedFile, EmptyMissingAndDirectory) {
  const std::string empty = write_temp({});
  for (FileLoad load : {FileLoad::kMap, FileLoad::kReadHugePages}) {
    auto f = MappedFile::open(empty, load);
    ASSERT_TRUE(f.is_ok());
    EXPECT_EQ(f->data(), nullptr);
    EXPECT_EQ(f->size(), 0u);
    EXPECT_EQ(MappedFile::open("/tmp/yun-no-such-file-here", load).status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(MappedFile::open("/tmp", load).status().code(), StatusCode::kInvalidArgument);
  }
  std::remove(empty.c_str());
}

}  // namespace
}  // namespace yun
