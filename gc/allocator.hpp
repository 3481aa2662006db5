// The allocator's shared tier and its slow paths: the central lists (one per span class, and one for
// large objects), the refill of a thread's cache (gc/thread_cache.hpp) from them, the sweeper or the
// page heap, large objects, the heap's exact allocation counts, and stress mode.
//
// The tiers, fastest first (Go's mcache / mcentral / mheap):
//   1. the inline fast path (include/tricolor/internal/fast_path.hpp): a slot from the thread's
//      window, no lock, no call;
//   2. small_slow_may_reach_safepoint(): the window is used up; the thread's span gives its next
//      window (ThreadCache::advance), else the span goes back to its central list and a new one is
//      acquired: a swept span with free slots, else one this thread sweeps (Sweeper::
//      sweep_for_allocation, which keeps an empty span rather than freeing it), else fresh pages;
//   3. the page heap (gc/page_heap.hpp), for fresh spans and every large object.
// Taking a span is allocation as the pacer counts it: the allocator reports it to the cycle's side
// (Collector::note_allocated_may_reach_safepoint), which may start a cycle, make the thread assist, or
// make it wait; at the hard limit it asks the Collector to relieve the limit
// (relieve_heap_limit_may_reach_safepoint: the cycles in flight, up to three, the rest of the sweep,
// a full collection). Those are the safepoints the slow paths' names warn of: a stop there
// takes the thread's cached spans away, so each slow path loops until a slot is in hand with no
// safepoint after it.
//
// Invariant (TC_DCHECK_SLOW at every cycle's start, central_mark_bits_clear in gc/verifier.hpp): when marking
// begins, every span in a central list has all its mark bits clear.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gc/central_list.hpp"
#include "gc/thread_state.hpp"

namespace tricolor::internal {

class HeapImpl;

class Allocator {
 public:
  explicit Allocator(HeapImpl& h, std::size_t collect_every) : h_(h), collect_every_(collect_every) {}
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Tier 2: a slot of span class sc for t, whose window is empty. Null only if may_fail and the
  // heap is out of memory after relieving the limit; otherwise std::bad_alloc.
  void* small_slow_may_reach_safepoint(ThreadState* t, std::size_t sc, bool may_fail);
  // A large object (over kMaxSmallSize): a span of its own, from the page heap.
  void* large_may_reach_safepoint(ThreadState* t, std::size_t bytes, std::uint32_t type_id, bool noscan,
                                  bool may_fail);

  // Gives every cached span of t back to the central lists (t stopped, blocked, or t itself).
  void release_caches(ThreadState* t);
  // Gives a span back to its class's list by its own generation: one swept in the current one goes
  // to the swept lists; one a cache held across the flip is of the previous generation, and goes to
  // what are now the unswept lists (counted by the flip, so its sweep is awaited like any other).
  void return_span(Span* s, bool has_free);

  // Calls f(span) for every span in a central list (small and large): the spans no cache holds.
  template <class F>
  void for_each_listed_span(F&& f) {
    for (CentralList& c : central_) c.for_each_span(f);
    large_.for_each_span(f);
  }
  // The central list of span class sc (sc == kNumSpanClasses: the large objects' list).
  CentralList& list(std::size_t sc) { return sc == kNumSpanClasses ? large_ : central_[sc]; }

  // Stats::allocated_objects/bytes: slots caches took less those they gave back free, and large
  // objects. relaxed: counters, read for statistics only.
  std::uint64_t allocated_objects() const { return allocated_objects_.load(std::memory_order_relaxed); }
  std::uint64_t allocated_slot_bytes() const { return allocated_slot_bytes_.load(std::memory_order_relaxed); }

  // Stress mode (Config::collect_every, Heap::set_collect_every). relaxed: see collect_every_.
  void set_collect_every(std::size_t n) { collect_every_.store(n, std::memory_order_relaxed); }
  // Every allocation reaches the slow path while allocation sites are sampled or stress mode is on:
  // the windows stay empty (gc/heap_observer.hpp).
  bool keeps_windows_empty() const;

 private:
  Span* acquire_span(std::size_t sc, std::uint32_t sg);
  void count_allocation(SlotCount c, bool add) {
    // relaxed: counters (see allocated_objects()).
    if (add) {
      allocated_objects_.fetch_add(c.objects, std::memory_order_relaxed);
      allocated_slot_bytes_.fetch_add(c.bytes, std::memory_order_relaxed);
    } else {
      allocated_objects_.fetch_sub(c.objects, std::memory_order_relaxed);
      allocated_slot_bytes_.fetch_sub(c.bytes, std::memory_order_relaxed);
    }
  }
  // Config::collect_every: a full collection on every Nth allocation, before the slot is taken.
  void stress_collect(ThreadState* t);
  [[noreturn]] static void fail_allocation();

  HeapImpl& h_;
  CentralList central_[kNumSpanClasses];
  CentralList large_;
  std::atomic<std::uint64_t> allocated_objects_{0};
  std::atomic<std::uint64_t> allocated_slot_bytes_{0};
  // Config::collect_every, as set. relaxed: a knob read per allocation; a thread that sees a stale
  // value collects one allocation early or late.
  std::atomic<std::size_t> collect_every_;
  // relaxed: a counter; which thread's allocation triggers a stress collection does not matter.
  std::atomic<std::size_t> stress_allocs_{0};
};

}  // namespace tricolor::internal
