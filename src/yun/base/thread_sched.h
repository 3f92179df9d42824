// Scheduling hints for yun's own threads. Best effort: on kernels or
// systems that do not support a hint it does nothing, and never fails.
#pragma once

namespace yun {

// Asks the kernel for a short time slice (EEVDF's sched_runtime, Linux
// 6.12+) for the calling thread: a latency-sensitive thread that runs in
// short bursts (the HTTP io threads) then gets a CPU soon after it wakes,
// even while compute threads keep every core busy, instead of waiting out
// a compute thread's slice. The thread's policy and nice value stay as
// they are.
void request_short_time_slice(int microseconds);

}  // namespace yun
