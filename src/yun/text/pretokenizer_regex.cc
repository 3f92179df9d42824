#include "yun/text/pretokenizer_regex.h"

#include <pcre2.h>

namespace yun::text {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

namespace {

// One JIT stack per thread, grown beyond PCRE2's 32 KiB default so that long
// runs of whitespace or letters cannot exhaust it.
pcre2_match_context* thread_match_context() {
  struct Ctx {
    pcre2_match_context* ctx = nullptr;
    pcre2_jit_stack* stack = nullptr;
    Ctx() {
      ctx = pcre2_match_context_create(nullptr);
      stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
      if (ctx && stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
    }
    ~Ctx() {
      if (ctx) pcre2_match_context_free(ctx);
      if (stack) pcre2_jit_stack_free(stack);
    }
  };
  thread_local Ctx c;
  return c.ctx;
}

}  // namespace

Result<Regex> Regex::compile(const std::string& pattern) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return invalid_argument("regex \"" + pattern + "\" does not compile at offset " +
                            std::to_string(err_off) + ": " +
                            reinterpret_cast<const char*>(msg));
  }
  auto impl = std::make_shared<Impl>();
  impl->code = code;
  impl->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex r;
  r.impl_ = std::move(impl);
  r.pattern_ = pattern;
  return r;
}

void Regex::find_all(std::string_view subject,
                     std::vector<std::pair<size_t, size_t>>& out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  pcre2_match_context* mctx = thread_match_context();
  auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  const size_t n = subject.size();
  size_t pos = 0;
  while (pos <= n) {
    int rc;
    if (impl_->jit) {
      rc = pcre2_jit_match(impl_->code, s, n, pos, 0, md, mctx);
    } else {
      rc = pcre2_match(impl_->code, s, n, pos, PCRE2_NO_UTF_CHECK, md, mctx);
    }
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && impl_->jit) {
      // JIT resource limit: retry with the interpreter.
      rc = pcre2_match(impl_->code, s, n, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    }
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      pos = e;
    } else {  // empty match: step over one UTF-8 character
      if (b >= n) break;
      pos = b + 1;
      while (pos < n && (uint8_t(subject[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  pcre2_match_data_free(md);
}

}  // namespace yun::text
