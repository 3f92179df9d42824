#include "yun/serve/msgpack.h"

#include <cstring>

namespace yun::serve {

void MsgpackWriter::be(uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
}

void MsgpackWriter::uint(uint64_t v) {
  if (v < 0x80) {
    out_ += static_cast<char>(v);
  } else if (v <= 0xff) {
    out_ += '\xcc';
    be(v, 1);
  } else if (v <= 0xffff) {
    out_ += '\xcd';
    be(v, 2);
  } else if (v <= 0xffffffffULL) {
    out_ += '\xce';
    be(v, 4);
  } else {
    out_ += '\xcf';
    be(v, 8);
  }
}

void MsgpackWriter::sint(int64_t v) {
  if (v >= 0) return uint(static_cast<uint64_t>(v));
  const uint64_t u = static_cast<uint64_t>(v);
  if (v >= -32) {
    out_ += static_cast<char>(u & 0xff);  // negative fixint 0xe0..0xff
  } else if (v >= -128) {
    out_ += '\xd0';
    be(u, 1);
  } else if (v >= -32768) {
    out_ += '\xd1';
    be(u, 2);
  } else if (v >= -2147483648LL) {
    out_ += '\xd2';
    be(u, 4);
  } else {
    out_ += '\xd3';
    be(u, 8);
  }
}

void MsgpackWriter::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  out_ += '\xcb';
  be(bits, 8);
}

void MsgpackWriter::str(std::string_view s) {
  const uint64_t n = s.size();
  if (n < 32) {
    out_ += static_cast<char>(0xa0 | n);
  } else if (n <= 0xff) {
    out_ += '\xd9';
    be(n, 1);
  } else if (n <= 0xffff) {
    out_ += '\xda';
    be(n, 2);
  } else {
    out_ += '\xdb';
    be(n, 4);
  }
  out_.append(s.data(), s.size());
}

void MsgpackWriter::array(uint32_t n) {
  if (n < 16) {
    out_ += static_cast<char>(0x90 | n);
  } else if (n <= 0xffff) {
    out_ += '\xdc';
    be(n, 2);
  } else {
    out_ += '\xdd';
    be(n, 4);
  }
}

void MsgpackWriter::map(uint32_t n) {
  if (n < 16) {
    out_ += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    out_ += '\xde';
    be(n, 2);
  } else {
    out_ += '\xdf';
    be(n, 4);
  }
}

}  // namespace yun::serve
