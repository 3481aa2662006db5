// The spin-wait hint, for loops that look again before they sleep (the collector's wait for a
// handshake answer, gc/safepoint.cpp; a marker looking for work, gc/mark_worklist.cpp): it tells the
// core that this is a spin, so a sibling hyperthread gets the pipeline and leaving the loop does not
// pay a memory-order mis-speculation.
#pragma once

namespace tricolor::internal {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace tricolor::internal
