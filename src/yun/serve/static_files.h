// The playground's static files (web/index.html, app.js, style.css), read
// from a directory on disk: --web-dir, else <exe dir>/../web, <exe dir>/web,
// <exe dir>/../../web, ./web (the first holding index.html).
#pragma once

#include <optional>
#include <string>

namespace yun::serve {

// The directory to serve, or "" when none is found.
std::string find_web_dir(const std::string& flag_value);

struct StaticFile {
  std::string content_type;
  std::string body;
};

// Reads the file for a URL path ("/" -> index.html). Only plain names
// ([A-Za-z0-9._-], no "..") directly inside `dir` are served.
std::optional<StaticFile> read_static_file(const std::string& dir, const std::string& url_path);

}  // namespace yun::serve
