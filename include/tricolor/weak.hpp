// Weak references, ephemerons, finalizers and pools.
//
//  - Weak<T>: a field of a traced object (visit it with t.trace(weak)) that does not keep its target
//    alive. It reads null once the target has died: cleared at mark termination with the world
//    stopped, so no mutator can observe a dead target. Reading a Weak while the collector marks makes
//    the target strongly reachable for that cycle (the mutator now holds it).
//  - Ephemerons: t.trace_ephemeron(key, value) in a trace function keeps `value` alive only while
//    `key` is alive by other paths; when the key dies both fields are cleared. Chains (a value that
//    holds the key of another ephemeron) resolve at termination. The building block of weak tables.
//  - Finalizers: Heap::set_finalizer(obj, fn, ctx) runs fn(obj, ctx) once after obj becomes
//    unreachable, on a mutator thread that calls Heap::run_finalizers() — never on the sweeper, never
//    during marking. Until it has run, obj and everything it references stay valid; the finalizer may
//    resurrect obj by storing it somewhere reachable. Weak references to it are cleared first (as in
//    Java's WeakReference).
//  - Weak callbacks: add_weak_callback(heap, fn, ctx) runs fn(ctx) once per cycle after weak clearing
//    (world stopped, before any dead object is swept), so a weak hash table can turn the entries
//    whose key was just cleared into tombstones. An open-addressing table must not let a cleared key
//    read as an empty slot: that cuts probe chains, and a later lookup misses a live entry.
//    docs/embedding.md ("Weak tables") has the whole pattern and which weak reads may escape.
//  - Pool<T>: Go's sync.Pool. put() and get() reusable objects; a collection drops every pooled object
//    that nothing else references.
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "tricolor/heap.hpp"
#include "tricolor/internal/fast_path.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor {

namespace internal {
struct WeakSlot {
  std::atomic<const void*> target{nullptr};
};
// Defined in gc/api.cpp; declared in roots.hpp too (the rule is there).
TRICOLOR_API void check_object_pointer(const void* p, const char* what, const HeapImpl* heap);
inline const void* weak_load(const WeakSlot& s) {
  const void* p = s.target.load(std::memory_order_acquire);
  shade_if_marking(p);
  return p;
}
}  // namespace internal

template <class T>
class Weak {
 public:
  Weak() = default;
  // The target must be an object of the calling thread's heap, not an interior pointer: checked in
  // every build (roots.hpp).
  Weak(T* p) {  // NOLINT
    if (p != nullptr) internal::check_object_pointer(p, "tricolor::Weak", nullptr);
    internal::weak_store_barrier(p);
    slot_.target.store(p, std::memory_order_release);
  }
  Weak(const Weak& o) : Weak(o.get()) {}
  Weak& operator=(const Weak& o) { return *this = o.get(); }
  Weak& operator=(T* p) {
    if (p != nullptr) internal::check_object_pointer(p, "tricolor::Weak", nullptr);
    // The old target needs no protection (a weak slot is not a strong edge); the new one is shaded
    // while this thread's roots are unscanned (internal::weak_barrier_slow says why).
    internal::weak_store_barrier(p);
    slot_.target.store(p, std::memory_order_release);
    return *this;
  }
  T* get() const { return static_cast<T*>(const_cast<void*>(internal::weak_load(slot_))); }
  // The target without the read barrier, for comparisons only (a weak table's probe: "is this the key
  // I look for?"). The pointer must not escape: not stored anywhere, not kept past the next
  // safepoint. While the collector marks, a target read this way may be unreachable and is cleared at
  // termination; only get() makes it strongly held. Reading its fields before the next safepoint is
  // fine: nothing is freed before the cycle's termination, which waits for this thread.
  T* peek() const { return static_cast<T*>(const_cast<void*>(slot_.target.load(std::memory_order_acquire))); }
  explicit operator bool() const { return get() != nullptr; }

  internal::WeakSlot* slot_for_tracing() const { return const_cast<internal::WeakSlot*>(&slot_); }

 private:
  internal::WeakSlot slot_;
};

using FinalizerFn = void (*)(void* obj, void* context);

// Called with the world stopped after every weak field of the cycle was processed. It may read and
// write the heap with plain accesses (no mutator runs); it may store null or non-pointers (tombstones)
// and must not store a pointer to an object that was not already reachable; it must not allocate,
// collect or block (that stops with a message). Returns an id for remove_weak_callback, which waits
// out a call in progress, so `context` may be freed after it returns.
using WeakCallbackFn = void (*)(void* context);
TRICOLOR_API std::uint64_t add_weak_callback(Heap& heap, WeakCallbackFn fn, void* context);
TRICOLOR_API void remove_weak_callback(Heap& heap, std::uint64_t id);

namespace internal {
// A registered set of weak slots outside the heap (pools). Processed at every mark termination.
class TRICOLOR_API WeakSlotSet {
 public:
  explicit WeakSlotSet(Heap& heap);
  ~WeakSlotSet();
  WeakSlotSet(const WeakSlotSet&) = delete;
  WeakSlotSet& operator=(const WeakSlotSet&) = delete;
  void push(const void* p);
  const void* pop();  // null when empty (dropped entries are skipped)
  std::size_t size();
  // Called by the collector with the world stopped.
  template <class F>
  void sweep(F&& is_live) {
    std::lock_guard lock(mu_);
    std::size_t j = 0;
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (is_live(items_[i])) items_[j++] = items_[i];
    items_.resize(j);
  }

 private:
  Heap& heap_;
  std::mutex mu_;
  std::vector<const void*> items_;
};
}  // namespace internal

template <class T>
class Pool {
 public:
  explicit Pool(Heap& heap) : set_(heap) {}
  void put(T* obj) { set_.push(obj); }
  // A pooled object, or null if the pool is empty (make a new one then).
  T* get() { return static_cast<T*>(const_cast<void*>(set_.pop())); }
  std::size_t size() { return set_.size(); }

 private:
  internal::WeakSlotSet set_;
};

}  // namespace tricolor
