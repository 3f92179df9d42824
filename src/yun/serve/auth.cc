#include "yun/serve/auth.h"

#include <fstream>

namespace yun::serve {
namespace {

bool equal_const_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

}  // namespace

std::string bearer_token(const std::string& authorization) {
  std::string h = trim(authorization);
  if (h.size() < 7) return "";
  std::string scheme = h.substr(0, 7);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return "";
  return trim(h.substr(7));
}

std::optional<Principal> authenticate_bearer(const std::string& authorization,
                                             const std::vector<std::string>& keys) {
  std::string token = bearer_token(authorization);
  if (token.empty()) return std::nullopt;
  int found = -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (equal_const_time(token, keys[i])) found = static_cast<int>(i);
  }
  if (found < 0) return std::nullopt;
  Principal p;
  p.key_id = "key-" + std::to_string(found);
  return p;
}

bool read_key_file(const std::string& path, std::vector<std::string>& keys) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    keys.push_back(line);
  }
  return true;
}

}  // namespace yun::serve
