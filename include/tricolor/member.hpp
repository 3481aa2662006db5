// Member<T>: a pointer field inside a traced object. Every store goes through the write barrier
// (include/tricolor/internal/fast_path.hpp: one relaxed load and a predictable branch while no heap
// is marking; gc/write_barrier.cpp has the slow path and the argument for its correctness).
//
// The slot is atomic because a marker thread may read it while a mutator stores. Stores are release and
// loads acquire (plain moves on x86): a thread, marker or mutator, that reads a pointer from a Member
// also sees the header and fields the allocating thread wrote before storing it, so publishing an
// object to another thread through the heap needs no further synchronisation.
//
// T may be any type: a traced Object, or the element type of a pointer-free buffer.
#pragma once
#include "tricolor/internal/api.hpp"
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

  T* get() const { return ptr_.load(std::memory_order_acquire); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  explicit operator bool() const { return get() != nullptr; }
  operator T*() const { return get(); }  // NOLINT

  const void* get_for_tracing() const { return ptr_.load(std::memory_order_acquire); }
  // The slot as an untyped atomic pointer, for ephemeron processing (which may clear it).
  std::atomic<const void*>* slot_for_tracing() const {
    static_assert(sizeof(std::atomic<T*>) == sizeof(std::atomic<const void*>));
    return reinterpret_cast<std::atomic<const void*>*>(const_cast<std::atomic<T*>*>(&ptr_));
  }

 private:
  void store(T* p) {
#if TC_DCHECK_IS_ON
    internal::debug_check_heap_pointer(p, "Member<T>");
#endif
    // acquire (a plain load on x86): the barrier may hand the old value to a marker, which reads its
    // header and fields; objects allocated white during the barrier round are published only by
    // their allocator's release store, so the load that finds them must pair with it.
    internal::write_barrier(ptr_.load(std::memory_order_acquire), p);
    ptr_.store(p, std::memory_order_release);  // pairs with the acquire in get()
  }

  std::atomic<T*> ptr_{nullptr};
};

}  // namespace tricolor
