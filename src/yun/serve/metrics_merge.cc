#include "yun/serve/metrics_merge.h"

#include <map>
#include <sstream>

namespace yun::serve {

std::string merge_prometheus_families(const std::vector<std::string>& texts) {
  if (texts.size() == 1) return texts[0];
  struct Family {
    std::string header;   // its "# HELP" and "# TYPE" lines
    std::string samples;  // every text's samples, in order
  };
  std::vector<Family> families;
  std::map<std::string, size_t> index;  // family name -> families[i]
  for (const auto& text : texts) {
    std::istringstream in(text);
    std::string line;
    size_t current = std::string::npos;  // index: families grows
    while (std::getline(in, line)) {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        std::string name = line.substr(7, line.find(' ', 7) - 7);
        auto [it, fresh] = index.emplace(name, families.size());
        if (fresh) families.push_back({});
        current = it->second;
        // HELP and TYPE once each: the first text's.
        std::string& header = families[current].header;
        if (header.find(line.substr(0, 7) + name + " ") == std::string::npos) header += line + "\n";
        continue;
      }
      if (line.empty()) continue;
      if (current == std::string::npos) {  // samples before any header: a family of their own
        auto [it, fresh] = index.emplace("", families.size());
        if (fresh) families.push_back({});
        current = it->second;
      }
      families[current].samples += line + "\n";
    }
  }
  std::string out;
  for (const auto& f : families) out += f.header + f.samples;
  return out;
}

}  // namespace yun::serve
