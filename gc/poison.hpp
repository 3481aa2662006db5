// Freed memory, made loud. A program that keeps using an object after the collector freed it (a
// missing root, a missing barrier, a trace function that skips a field) should fail at the first
// bad access, not corrupt a later object silently:
//  - debug-checks builds fill a freed slot's payload with kFreedByte (0xdb...: a pointer read from it
//    is non-canonical and faults; an integer read from it is conspicuous in a debugger);
//  - AddressSanitizer builds also poison the whole freed slot (header included), so any read or
//    write of it is reported with the stack of the access; a slot is unpoisoned when it is handed to
//    an allocation window (gc/allocator.cpp, small_slow_may_reach_safepoint) or a large object is allocated.
// Both happen in one place of the sweeper (sweep_span, after the dead objects' destructors ran) and
// cost nothing in release builds without ASan.
//
// The heap's reservation is also registered with LeakSanitizer as a root region: malloc'ed memory
// that only GC objects point to (a buffer owned by an object with a destructor) is reachable, not a
// leak. LSan reads only the mapped, readable parts of the region.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gc/span.hpp"
#include "tricolor/internal/check.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TRICOLOR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRICOLOR_ASAN 1
#endif
#endif
#ifndef TRICOLOR_ASAN
#define TRICOLOR_ASAN 0
#endif

#if TRICOLOR_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace tricolor::internal::poison {

inline constexpr unsigned char kFreedByte = 0xdb;
inline constexpr bool kEnabled = TC_DCHECK_IS_ON || TRICOLOR_ASAN;

// The slots of word w of span s that the sweeper just freed (bit i of `dead`: slot w * 64 + i).
inline void freed_slots(const Span& s, std::size_t w, std::uint64_t dead) {
  if constexpr (!kEnabled) return;
  const std::size_t size = s.span_class == kLargeSpanClass ? s.bytes() : s.elem_size;
  while (dead != 0) {
    char* slot = s.slot_address(w * 64 + static_cast<std::size_t>(__builtin_ctzll(dead)));
    dead &= dead - 1;
    std::memset(slot + kHeaderSize, kFreedByte, size - kHeaderSize);
#if TRICOLOR_ASAN
    ASAN_POISON_MEMORY_REGION(slot, size);
#endif
  }
}

// Before slots are handed out again: the free slots (bits of `free`) of a window, or one region.
inline void reused_slots([[maybe_unused]] char* window, [[maybe_unused]] std::size_t size,
                         [[maybe_unused]] std::uint64_t free) {
#if TRICOLOR_ASAN
  while (free != 0) {
    ASAN_UNPOISON_MEMORY_REGION(window + static_cast<std::size_t>(__builtin_ctzll(free)) * size, size);
    free &= free - 1;
  }
#endif
}
inline void reused_region([[maybe_unused]] void* p, [[maybe_unused]] std::size_t bytes) {
#if TRICOLOR_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, bytes);
#endif
}

inline void register_heap([[maybe_unused]] std::uintptr_t base, [[maybe_unused]] std::size_t bytes) {
#if TRICOLOR_ASAN
  __lsan_register_root_region(reinterpret_cast<void*>(base), bytes);
#endif
}
inline void unregister_heap([[maybe_unused]] std::uintptr_t base, [[maybe_unused]] std::size_t bytes) {
#if TRICOLOR_ASAN
  __lsan_unregister_root_region(reinterpret_cast<void*>(base), bytes);
#endif
}

}  // namespace tricolor::internal::poison
