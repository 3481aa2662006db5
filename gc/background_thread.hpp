// The scheduling class of the collector's background threads (the markers, the background sweeper).
//
// They run as SCHED_BATCH (Linux): the same CPU share as any thread of the process (nice 0), but a
// wake-up of theirs never preempts a running thread. Without it, a mutator that publishes work at
// its root scan or a barrier flush wakes a marker, and the scheduler hands the marker the mutator's
// own core at once: on this project's 2-core machine, root scans that do microseconds of work were
// recorded as 1-7 ms pauses (65 ms of one GCBench run), and the latency probe was ~3 ms late at
// p99. With markers as SCHED_BATCH, GCBench's root scans stayed under 0.1 ms and its probe p99 was
// 1.0-2.3 ms, at the same wall time (3 runs each, `tricolor-bench --workload gcbench`).
// Measured and rejected: the controller as SCHED_BATCH too (it runs the handshakes and the final
// stop: termination came late, the heap grew and GCBench ran 10-25% longer), and lower priority
// for the markers (nice 5-19: marking fell behind, and assists and heap-limit waits grew).
// Also measured and rejected: a short EEVDF slice for the controller (sched_setattr, sched_runtime
// 0.1 ms), so that its wake-up after a round's last answer preempts a mutator. On GCBench with two
// threads and the CPU-bound probe, the controller's lateness after the last answer was 40-60 ms of
// the run's 370-650 ms in handshake rounds; the rest was waiting for preempted mutators to answer,
// which no policy of the collector's own threads shortens (wall and RSS unchanged, 2 runs each).
// Elsewhere, or if the call is refused, the thread keeps the default policy.
//
// Each collector thread is also named after its role (tc-collector, tc-marker-N, tc-sweeper), so
// that `top -H`, `ps -L`, gdb and perf tell them from the program's own threads. The creator names
// the thread as soon as it exists, so the name is in place before the constructor that started it
// returns.
#pragma once

#include <cstdio>
#include <thread>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace tricolor::internal {

inline void become_background_thread() {
#if defined(__linux__) && defined(SCHED_BATCH)
  sched_param param{};
  param.sched_priority = 0;
  (void)sched_setscheduler(0, SCHED_BATCH, &param);  // 0: the calling thread
#endif
}

// Linux keeps at most 15 characters of a thread's name: a longer one is cut there. A refused call
// leaves the process's name, which is all it costs.
inline void name_thread(std::thread& t, const char* role, int index = -1) {
#if defined(__linux__)
  char name[64];
  if (index < 0) std::snprintf(name, sizeof name, "%s", role);
  else std::snprintf(name, sizeof name, "%s-%d", role, index);
  name[15] = '\0';  // the kernel's limit (16 with the terminator): longer names are refused
  (void)pthread_setname_np(t.native_handle(), name);
#else
  (void)t;
  (void)role;
  (void)index;
#endif
}

}  // namespace tricolor::internal
