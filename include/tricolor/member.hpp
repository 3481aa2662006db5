// Member<T>: a pointer field inside a traced object. Every store goes through the write barrier
// (include/tricolor/internal/fast_path.hpp: one relaxed load and a predictable branch while no heap
// is marking; gc/write_barrier.cpp has the slow path and the argument for its correctness).
//
// The slot is atomic because a marker thread may read it while a mutator stores: loads and stores are
// relaxed, since ordering of the pointed-to object's contents comes from the collector's handshakes
// (an object is either born black during marking and never scanned by that cycle, or was published
// before the cycle's start handshake).
//
// T may be any type: a traced Object, or the element type of a pointer-free buffer.
#pragma once
#include <atomic>
#include <cstddef>

#include "tricolor/internal/fast_path.hpp"

namespace tricolor {

template <class T>
class Member {
 public:
  Member() noexcept = default;
  Member(std::nullptr_t) noexcept {}
  Member(T* p) { store(p); }  // NOLINT: implicit, like a raw pointer field
  Member(const Member& other) { store(other.get()); }
  Member& operator=(const Member& other) {
    store(other.get());
    return *this;
  }
  Member& operator=(T* p) {
    store(p);
    return *this;
  }
  Member& operator=(std::nullptr_t) {
    store(nullptr);
    return *this;
  }

  T* get() const { return ptr_.load(std::memory_order_relaxed); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  explicit operator bool() const { return get() != nullptr; }
  operator T*() const { return get(); }  // NOLINT

  const void* get_for_tracing() const { return ptr_.load(std::memory_order_relaxed); }

 private:
  void store(T* p) {
#if TC_DCHECK_IS_ON
    internal::debug_check_heap_pointer(p, "Member<T>");
#endif
    internal::write_barrier(ptr_.load(std::memory_order_relaxed), p);
    ptr_.store(p, std::memory_order_relaxed);
  }

  std::atomic<T*> ptr_{nullptr};
};

}  // namespace tricolor
