// API key secrets: how they are made, hashed and shown.
//
// A key is "yun-sk-" + 40 base62 characters from the OS's CSPRNG (about 238
// bits). Stores keep only hash_key(key) (hex SHA-256; keys are random, so no
// salt or stretching is needed) and key_prefix(key), the first 11
// characters ("yun-sk-abc1"), which admin listings show.
#pragma once

#include <string>
#include <string_view>

namespace yun::tenancy {

std::string generate_key();
std::string hash_key(std::string_view key);    // 64 lowercase hex digits
std::string key_prefix(std::string_view key);  // first 11 characters
// True when `s` has the shape generate_key() makes (no store lookup).
bool looks_like_key(std::string_view s);
// Random bytes from the OS's CSPRNG as lowercase hex (2 * bytes digits).
std::string random_hex(size_t bytes);

}  // namespace yun::tenancy
