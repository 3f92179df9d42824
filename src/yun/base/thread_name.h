// Names the calling thread (at most 15 bytes are kept), so that `top -H`,
// `ps -L`, perf and gdb show what each of yun's threads is.
#pragma once

namespace yun {

void set_current_thread_name(const char* name);

}  // namespace yun
