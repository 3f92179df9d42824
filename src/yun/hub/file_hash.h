// SHA-256 of a file, as lower-case hex (OpenSSL's EVP): what the hub's etag
// of a git-lfs file (X-Linked-Etag) holds. Errors: kInternal when the file
// cannot be read.
#pragma once

#include <string>

#include "yun/base/status.h"

namespace yun::hub {

Result<std::string> sha256_file_hex(const std::string& path);

}  // namespace yun::hub
