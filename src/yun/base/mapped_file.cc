#include "yun/base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace yun {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Anonymous memory of `len` bytes (a multiple of kHugePage) at a kHugePage
// boundary, so that the kernel can back all of it with huge pages.
uint8_t* map_aligned(size_t len) {
  void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* r = static_cast<uint8_t*>(raw);
  auto* a = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(r) + kHugePage - 1) &
                                       ~uintptr_t{kHugePage - 1});
  if (a > r) munmap(r, size_t(a - r));
  if (size_t tail = size_t(r + len + kHugePage - (a + len))) munmap(a + len, tail);
  return a;
}

// Reads all of fd into dst; false (errno set) on an error or a short file.
bool read_all(int fd, uint8_t* dst, size_t size) {
  constexpr size_t kChunk = size_t{64} << 20;
  for (size_t off = 0; off < size;) {
    ssize_t r = pread(fd, dst + off, std::min(kChunk, size - off), off_t(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      return false;
    }
    off += size_t(r);
  }
  return true;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path, FileLoad load) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("no such file: " + path);
    return invalid_argument("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument("not a regular file: " + path);
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ > 0 && load == FileLoad::kReadHugePages) {
    const size_t len = (f.size_ + kHugePage - 1) & ~(kHugePage - 1);
    uint8_t* a = map_aligned(len);
    if (!a) {
      ::close(fd);
      return invalid_argument("cannot allocate " + std::to_string(len) + " bytes for " + path +
                              ": " + std::strerror(errno));
    }
    f.data_ = a;
    f.mapped_ = len;
    madvise(a, len, MADV_HUGEPAGE);  // a hint: without THP, ordinary pages
    if (!read_all(fd, a, f.size_)) {
      const int err = errno;
      ::close(fd);
      return invalid_argument("cannot read " + path + ": " + std::strerror(err));
    }
    mprotect(a, len, PROT_READ);  // weights are never written
  } else if (f.size_ > 0) {
    void* p = mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return invalid_argument("cannot map " + path + ": " + std::strerror(errno));
    }
    f.data_ = static_cast<const uint8_t*>(p);
    f.mapped_ = f.size_;
  }
  ::close(fd);
  return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(o.data_), size_(o.size_), mapped_(o.mapped_), path_(std::move(o.path_)) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    path_ = std::move(o.path_);
    o.data_ = nullptr;
    o.size_ = o.mapped_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
  if (data_) munmap(const_cast<uint8_t*>(data_), mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

void MappedFile::prefetch() const {
  if (data_) madvise(const_cast<uint8_t*>(data_), size_, MADV_WILLNEED);
}

Result<std::string> read_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return not_found("no such file: " + path);
  if (!S_ISREG(st.st_mode)) return invalid_argument("not a regular file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace yun
