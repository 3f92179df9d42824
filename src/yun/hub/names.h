// Checks and spellings of what the hub sends and what yun sends it: names
// that become cache paths are checked here, so a hostile or broken hub can
// never make yun write outside its repo's cache entry.
#pragma once

#include <cstddef>
#include <string>

namespace yun::hub {

// `s` is `len` lower-case hex digits (a commit: 40; a sha256: 64).
bool is_hex(const std::string& s, size_t len);
// A blob name from the hub (an etag): 1..128 alphanumerics, so never a path.
bool safe_blob_name(const std::string& s);
// A repo file name: relative, no empty, "." or ".." segment, no backslash.
bool safe_rel_path(const std::string& p);
// Percent-encodes all but [A-Za-z0-9-_.~] (and '/' when keep_slash).
std::string url_encode(const std::string& s, bool keep_slash);
// An ETag header's value without W/ and the quotes.
std::string clean_etag(std::string e);
// "https://host:port" of a URL (what a relative redirect is resolved against).
std::string origin_of(const std::string& url);

}  // namespace yun::hub
