// Threads. A thread that allocates, creates Roots or stores into the heap must be attached:
//
//   tricolor::Mutator m(heap, "worker-1");
//
// An attached thread answers the collector at safepoints: the allocation slow path, safepoint(),
// and entering a BlockingScope. A thread that waits (I/O, locks, sleep) should do so inside a
// BlockingScope so collections proceed without it; it must not touch the heap inside the scope.
// A thread that exits without destroying its Mutator is detached by the runtime.
#pragma once
#include "tricolor/internal/api.hpp"
#include <cstdint>

#include "tricolor/heap.hpp"
#include "tricolor/internal/fast_path.hpp"

namespace tricolor {

class TRICOLOR_API Mutator {
 public:
  explicit Mutator(Heap& heap, const char* name = nullptr);
  ~Mutator();
  Mutator(const Mutator&) = delete;
  Mutator& operator=(const Mutator&) = delete;

  // Root callback for this thread's own structures (an interpreter's value stack): scanned at this
  // thread's handshake, like its Roots, so stores into what it traces need no barrier — except for
  // pointers handed over by another thread outside the heap: take those into a Root<T> first (its
  // assignment shades while marking) or call tricolor::root_slot_barrier.
  std::uint64_t add_roots(RootCallback callback, void* context, const char* name = nullptr);
  void remove_roots(std::uint64_t id);

  Heap& heap() const { return *heap_; }
  // The calling thread's Mutator, or null.
  static Mutator* current();

 private:
  Heap* heap_;
  void* state_;
};

// Answers a pending handshake, if any. Call it in long loops that do not allocate.
inline void safepoint() {
  internal::ThreadFast* t = internal::current_thread("safepoint()");
  if (t->poll.load(std::memory_order_relaxed) != 0) [[unlikely]]
    internal::safepoint_slow(t);
}

// While alive, the thread counts as stopped: collections do not wait for it; its roots are scanned
// on its behalf. It must not touch the heap (no allocation, no Member/Root access) until the scope ends.
class TRICOLOR_API BlockingScope {
 public:
  BlockingScope();
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  internal::ThreadFast* t_;
};

}  // namespace tricolor
