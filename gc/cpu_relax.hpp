// The spin-wait hint, for loops that look again before they sleep (the collector's wait for a
// handshake answer, gc/safepoint.cpp; a marker looking for work, gc/mark_worklist.cpp): it tells the
// core that this is a spin, so a sibling hyperthread gets the pipeline and leaving the loop does not
// pay a memory-order mis-speculation.
#pragma once
#include <thread>

namespace tricolor::internal {

// Whether spinning can help at all: with a single core the spin would hold up the very thread it
// waits for, so the loops above sleep at once there.
inline bool multi_core() {
  static const bool multi = std::thread::hardware_concurrency() > 1;
  return multi;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace tricolor::internal
