#include "yun/hub/cache_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>

namespace yun::hub {

namespace fs = std::filesystem;

namespace {

// A temporary name beside `path`, unique to this process and call.
std::string temp_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp-yun-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

Status write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = temp_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return internal_error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return internal_error("cannot write " + path + ": " + ec.message());
  return Status::ok();
}

Status symlink_atomically(const std::string& target, const std::string& link) {
  const std::string tmp = temp_name(link);
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) return internal_error("cannot link " + link + ": " + ec.message());
  fs::rename(tmp, link, ec);
  if (ec) return internal_error("cannot link " + link + ": " + ec.message());
  return Status::ok();
}

Result<std::unique_ptr<BlobLock>> BlobLock::acquire(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return internal_error("cannot create " + fs::path(path).parent_path().string());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return internal_error("cannot open the lock " + path);
  if (::flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    return internal_error("cannot lock " + path);
  }
  return std::unique_ptr<BlobLock>(new BlobLock(fd));
}

BlobLock::~BlobLock() { ::close(fd_); }

}  // namespace yun::hub
