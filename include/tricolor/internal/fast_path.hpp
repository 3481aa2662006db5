// What inline public code needs to see of the collector: the per-thread allocation cache layout,
// the process-wide "a barrier is active" flag, and the out-of-line slow paths they call.
// gc/ owns the rest of each structure; include/ never includes gc/.
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tricolor/internal/check.hpp"
#include "tricolor/internal/size_classes.hpp"

namespace tricolor {
class Tracer;
}

namespace tricolor::internal {

class HeapImpl;
struct Span;

// One word in front of every object. type_id indexes the process-wide type table; epoch is the
// allocation epoch that LeakCheck scopes compare against.
struct ObjectHeader {
  std::uint32_t type_id;
  std::uint32_t epoch;
};
static_assert(sizeof(ObjectHeader) == kHeaderSize);

inline ObjectHeader* header_of(const void* obj) {
  return reinterpret_cast<ObjectHeader*>(const_cast<char*>(static_cast<const char*>(obj)) - kHeaderSize);
}

// A thread's allocation window into its current span of one span class: the next (up to) 64 slots
// starting at `window`, with bit i of free_mask set when slot i is free. Exhausted when the mask is 0.
struct CacheEntry {
  std::uint64_t free_mask = 0;
  char* window = nullptr;
};

// Intrusive node of a thread's LIFO root list (Root<T> derives from it).
struct RootNode {
  RootNode* prev;
  const void* ptr;
  const char* name;
};

// Pointers shaded by the write barrier, recorded without any atomic read-modify-write; marked and
// pushed in bulk when full or when the collector asks (flush handshake, gc/write_barrier.cpp). Only
// the owning thread writes it, except the collector while the thread is stopped or claimed.
struct BarrierBuffer {
  static constexpr std::size_t kCapacity = 256;
  std::size_t n = 0;
  const void* items[kCapacity];
};

// The part of a mutator's state that inline code touches. Only the owning thread writes the cache and
// the root list; the collector reads them only while the thread is parked at a safepoint or is in a
// blocking scope (both transitions are release/acquire pairs in gc/safepoint.cpp).
struct ThreadFast {
  CacheEntry cache[kNumSpanClasses];
  RootNode* roots = nullptr;
  HeapImpl* heap = nullptr;
  // Nonzero while the collector wants this thread to answer a handshake. relaxed in the poll: the
  // acquire that orders the handshake's data is in the slow path (gc/safepoint.cpp).
  std::atomic<std::uint32_t> poll{0};
  // Changed only by the thread at a handshake, or by the collector while it is stopped or claimed:
  //  marking: this thread's barrier is on (set by the cycle's barrier round, gc/collector.cpp);
  //           allocating black starts later, at the thread's root scan (ThreadState::allocate_black).
  //  roots_scanned: false between mark start and this thread's root scan; until then the barrier
  //           also shades the new value of every store (the insertion half of the hybrid barrier).
  bool marking = false;
  bool roots_scanned = true;
  std::uint32_t no_safepoint_depth = 0;  // >0 inside the collector's own callbacks
  // Written into the header of every object this thread allocates (LeakCheck scopes, heap profiles).
  // Thread-local so the fast path touches no shared cache line for it.
  std::uint32_t alloc_epoch = 0;
  // The heap's address reservation [heap_base, heap_base + heap_bytes), for Root's inline range check.
  // After `poll`: tricolor.h's inline C poll reads poll at a fixed offset.
  std::uintptr_t heap_base = 0;
  std::size_t heap_bytes = 0;
  // Last, so the fields above keep their offsets (tricolor.h's TC_INTERNAL_POLL_OFFSET).
  BarrierBuffer barrier;
};

// The current thread's state, null when the thread is not attached. __thread: a plain TLS slot with no
// initialisation guard, so the fast path is one %fs-relative load.
extern TRICOLOR_API __thread ThreadFast* tls_thread;

// True while any heap marks. relaxed: it is set before the collector posts the barrier round (whose
// release/acquire pair orders it for each thread that answers) and cleared in the termination stop;
// a thread that sees a stale value takes the slow path, which re-checks its own flags.
extern TRICOLOR_API std::atomic<bool> g_barrier_active;

// True while any heap is between the start of its barrier round and the end of its root round: the
// window in which some thread's roots are not scanned yet, the only time a Root<T> assignment must
// shade (gc/write_barrier.cpp, "Root part"). relaxed, as g_barrier_active: set before that round is
// posted (so a thread whose barrier is on sees it), cleared after the root round; a stale true only
// sends the caller to the slow path, which records one pointer too many.
extern TRICOLOR_API std::atomic<bool> g_root_barrier_active;

[[noreturn, gnu::cold]] TRICOLOR_API void fail_not_attached(const char* what);
[[noreturn, gnu::cold]] TRICOLOR_API void fail_root_order(const RootNode* node);

inline ThreadFast* current_thread(const char* what) {
  ThreadFast* t = tls_thread;
  if (t == nullptr) [[unlikely]]
    fail_not_attached(what);
  return t;
}

// Slow paths, out of line, named for what they may do to the caller. "_may_reach_safepoint": the
// call may stop at a safepoint (a poll, a throttled wait for the collector, an emergency
// collection), where objects move between colors and the thread's caches may be taken: every
// pointer the caller holds must be in a root across it (README, "The main rule").
// The small-object refill: returns a slot (header address), or null (may_fail) at the heap limit.
[[gnu::noinline, gnu::cold]] TRICOLOR_API void* allocate_small_slow_may_reach_safepoint(ThreadFast* t,
                                                                                       std::size_t span_class,
                                                                                       bool may_fail);
// Returns the payload, with header written and colored, or null (may_fail) at the heap limit.
[[gnu::noinline]] TRICOLOR_API void* allocate_large_may_reach_safepoint(ThreadFast* t, std::size_t bytes,
                                                                      std::uint32_t type_id, bool noscan,
                                                                      bool may_fail);
[[gnu::noinline]] TRICOLOR_API void write_barrier_slow(const void* old_value, const void* new_value);
[[gnu::noinline]] TRICOLOR_API void root_barrier_slow(const void* new_value);
[[gnu::noinline]] TRICOLOR_API void weak_barrier_slow(const void* new_value);
[[gnu::noinline]] TRICOLOR_API void safepoint_slow(ThreadFast* t);
TRICOLOR_API void debug_check_heap_pointer(const void* p, const char* what);

// The slot pop, written once (mimalloc: _mi_page_malloc): takes the lowest free slot of a window
// whose free mask is `free_mask` (the inline window's, or the slow path's pending slots while the
// heap observes allocations, gc/thread_cache.hpp). The mask must not be empty.
inline char* pop_slot(std::uint64_t& free_mask, char* window, std::size_t slot_size) {
  const std::uint64_t m = free_mask;
  TC_DCHECK(m != 0, "tricolor: slot pop from an exhausted window");
  free_mask = m & (m - 1);
  return window + static_cast<std::size_t>(__builtin_ctzll(m)) * slot_size;
}

// Returns the slot (header address) or null when the heap limit is reached and may_fail is true.
// The one unlikely exit is an exhausted window. With a constant span class (make<T>) the slot size
// folds to a constant.
inline void* allocate_small(ThreadFast* t, std::size_t sc, bool may_fail) {
  CacheEntry& e = t->cache[sc];
  if (e.free_mask == 0) [[unlikely]]
    return allocate_small_slow_may_reach_safepoint(t, sc, may_fail);
  return pop_slot(e.free_mask, e.window, kClasses.size[class_of_span_class(sc)]);
}

// Writes the header. Returns the payload. (The slot's color was set when its span entered the cache.)
inline void* finish_allocation(const ThreadFast* t, void* slot, std::uint32_t type_id) {
  auto* h = static_cast<ObjectHeader*>(slot);
  h->type_id = type_id;
  h->epoch = t->alloc_epoch;
  return static_cast<char*>(slot) + kHeaderSize;
}

// The one "shade if marking" entry: a pointer that reaches a root from outside the heap (a Root
// assigned, a weak reference read, a pooled object taken) must be shaded while its heap marks.
// One load and one predictable branch while no heap marks; the slow path checks that the marking
// heap is this thread's.
inline void shade_if_marking(const void* p) {
  if (p != nullptr && g_barrier_active.load(std::memory_order_relaxed)) [[unlikely]]
    root_barrier_slow(p);
}

// Root<T>'s barrier: the same slow path as shade_if_marking, behind g_root_barrier_active, so that
// once every thread's roots are scanned a Root costs no call and records nothing.
inline void shade_if_roots_pending(const void* p) {
  if (p != nullptr && g_root_barrier_active.load(std::memory_order_relaxed)) [[unlikely]]
    root_barrier_slow(p);
}

// A weak store's barrier: the insertion half only (gc/write_barrier.cpp), one load and one branch
// while no heap marks.
inline void weak_store_barrier(const void* new_value) {
  if (new_value != nullptr && g_barrier_active.load(std::memory_order_relaxed)) [[unlikely]]
    weak_barrier_slow(new_value);
}

// The write barrier while some heap marks. Inline only its common case: this thread's barrier is
// on, its roots are scanned (so only the old value is recorded: the deletion half), and its buffer
// has room. Everything else goes out of line, where write_barrier_slow re-checks it all: a thread
// not attached, another heap marking, the insertion half before the root scan, a full buffer.
// Measured on the 2-core machine (bench/micro-tricolor, BM_MemberStore_MarkingOn): 4.2 ns per store
// with the whole barrier out of line, 2.7 ns with this; binary-trees 0.96x wall. About 3.7 KB more
// code in the benchmark binary, all of it in branches not taken while no heap marks.
inline void write_barrier_marking(const void* old_value, const void* new_value) {
  ThreadFast* t = tls_thread;
  if (t != nullptr && t->marking && t->roots_scanned && t->barrier.n < BarrierBuffer::kCapacity) [[likely]] {
    if (old_value != nullptr) t->barrier.items[t->barrier.n++] = old_value;
    return;
  }
  write_barrier_slow(old_value, new_value);
}

// The write barrier's inline check: one load and one predictable branch while no heap marks.
inline void write_barrier(const void* old_value, const void* new_value) {
  if (g_barrier_active.load(std::memory_order_relaxed)) [[unlikely]]
    write_barrier_marking(old_value, new_value);
}

}  // namespace tricolor::internal
