#include "yun/base/thread_sched.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace yun {

namespace {

// linux/sched/types.h's struct sched_attr (glibc 2.36 has no wrapper).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

}  // namespace

void request_short_time_slice(int microseconds) {
#ifdef SYS_sched_setattr
  if (sched_getscheduler(0) != SCHED_OTHER) return;
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);  // this thread's (Linux: per thread)
  if (errno != 0) return;
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = nice;
  attr.sched_runtime = static_cast<uint64_t>(microseconds) * 1000;
  syscall(SYS_sched_setattr, 0, &attr, 0);
#else
  (void)microseconds;
#endif
}

}  // namespace yun
