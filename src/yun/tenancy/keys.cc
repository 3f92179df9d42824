// API key secrets with OpenSSL: RAND_bytes for randomness, EVP SHA-256 for
// the stored hash. Base62 digits come from rejection sampling (bytes >= 248
// are redrawn), so every digit is uniform: no modulo bias.
#include "yun/tenancy/keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>

#include "yun/base/log.h"

namespace yun::tenancy {
namespace {

constexpr std::string_view kKeyStart = "yun-sk-";
constexpr size_t kKeyDigits = 40;
constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr char kHex[] = "0123456789abcdef";

// The OS's CSPRNG. A failure here means no safe randomness is available:
// nothing sensible can continue (a key or id must never be guessable).
void random_bytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    YUN_LOG(kError, "RAND_bytes failed: no secure randomness");
    std::abort();
  }
}

std::string to_hex(const unsigned char* p, size_t n) {
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}

}  // namespace

std::string generate_key() {
  std::string key(kKeyStart);
  std::array<unsigned char, 64> buf;
  while (key.size() < kKeyStart.size() + kKeyDigits) {
    random_bytes(buf.data(), buf.size());
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 4 * 62: keep only unbiased bytes
      key.push_back(kBase62[b % 62]);
      if (key.size() == kKeyStart.size() + kKeyDigits) break;
    }
  }
  return key;
}

std::string hash_key(std::string_view key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    YUN_LOG(kError, "EVP_Digest(SHA-256) failed");
    std::abort();
  }
  return to_hex(md, len);
}

std::string key_prefix(std::string_view key) { return std::string(key.substr(0, 11)); }

bool looks_like_key(std::string_view s) {
  if (s.size() != kKeyStart.size() + kKeyDigits || !s.starts_with(kKeyStart)) return false;
  for (char c : s.substr(kKeyStart.size())) {
    if (kBase62.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string random_hex(size_t bytes) {
  std::string out;
  out.reserve(2 * bytes);
  std::array<unsigned char, 32> buf;
  while (bytes > 0) {
    size_t n = std::min(bytes, buf.size());
    random_bytes(buf.data(), n);
    out += to_hex(buf.data(), n);
    bytes -= n;
  }
  return out;
}

}  // namespace yun::tenancy
