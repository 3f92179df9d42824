#include "yun/base/mapped_file.h"
#include "yun/serve/static_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace yun::serve {
namespace fs = std::filesystem;

namespace {

std::string exe_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

bool has_index(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "index.html", ec);
}

}  // namespace

std::string find_web_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  std::vector<fs::path> candidates;
  std::string exe = exe_dir();
  if (!exe.empty()) {
    candidates.push_back(fs::path(exe) / ".." / "web");
    candidates.push_back(fs::path(exe) / "web");
    candidates.push_back(fs::path(exe) / ".." / ".." / "web");
  }
  candidates.push_back(fs::current_path() / "web");
  for (const auto& c : candidates) {
    if (has_index(c)) return fs::weakly_canonical(c).string();
  }
  return "";
}

std::optional<StaticFile> read_static_file(const std::string& dir, const std::string& url_path) {
  if (dir.empty()) return std::nullopt;
  std::string name = url_path == "/" ? "index.html" : url_path.substr(1);
  if (name.empty() || name.find("..") != std::string::npos || name[0] == '.') return std::nullopt;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return std::nullopt;
    }
  }
  auto body = read_file((fs::path(dir) / name).string());
  if (!body) return std::nullopt;
  StaticFile f;
  f.body = std::move(*body);
  auto ext = fs::path(name).extension().string();
  if (ext == ".html")
    f.content_type = "text/html; charset=utf-8";
  else if (ext == ".js")
    f.content_type = "text/javascript; charset=utf-8";
  else if (ext == ".css")
    f.content_type = "text/css; charset=utf-8";
  else if (ext == ".svg")
    f.content_type = "image/svg+xml";
  else if (ext == ".json")
    f.content_type = "application/json";
  else
    f.content_type = "application/octet-stream";
  return f;
}

}  // namespace yun::serve
