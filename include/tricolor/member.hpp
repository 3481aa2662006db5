// Member<T>: a pointer field inside a traced object. Every store goes through the write barrier
// (include/tricolor/internal/fast_path.hpp: one relaxed load and a predictable branch while no heap
// is marking; gc/write_barrier.cpp has the slow path and the argument for its correctness).
//
// The slot is atomic because a marker thread may read it while a mutator stores. Stores are release and
// loads acquire (plain moves on x86): a thread, marker or mutator, that reads a pointer from a Member
// also sees the header and fields the allocating thread wrote before storing it, so publishing an
// object to another thread through the heap needs no further synchronisation.
//
// What T may be (checked at compile time, where T is complete: the first store):
//  - a tricolor object type: one derived from tricolor::Object<U> (T itself, or a base class of the
//    objects it will point to);
//  - plain data a pointer-free buffer holds (a trivially copyable T: char, double, a POD struct), as
//    make_buffer / make_buffer_of return it;
//  - void (any object, at its start).
// Refused: any other class, and in particular a polymorphic interface that does not derive from
// Object (cppgc's "mixin"). The collector needs the address make<>() returned, and converting an
// object pointer to a base class moves it by the base's offset unless that base is the object's
// first; so a Member<Base> may hold a Derived* only if Base is Derived's first base class (at
// offset 0). Make the tricolor object type the first base and hold it by that type:
//     struct Impl : tricolor::Object<Impl>, Iface { ... };   // Member<Iface>: refused
//     Member<Impl> m;  // and convert to Iface* when calling through it
// A base at a non-zero offset that derives from Object cannot be refused here; debug-checks builds
// catch its pointer at the store (and Root, Global and Weak check it in every build).
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <cstddef>
#include <type_traits>

#include "tricolor/internal/fast_path.hpp"

namespace tricolor {

template <class T>
class Object;

namespace internal {
template <class U>
std::true_type derives_from_object(const volatile Object<U>*);
std::false_type derives_from_object(const volatile void*);

// True for the types Member<T> may point to (the rule above). T must be complete.
template <class T>
constexpr bool member_target_ok() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_void_v<U>) {
    return true;
  } else {
    return std::is_base_of_v<Object<U>, U> || decltype(derives_from_object(static_cast<U*>(nullptr)))::value ||
           (std::is_trivially_copyable_v<U> && !std::is_polymorphic_v<U>);
  }
}
}  // namespace internal

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
    static_assert(internal::member_target_ok<T>(),
                  "tricolor::Member<T>: T must be a tricolor object type (derived from tricolor::Object<U>), "
                  "trivially copyable buffer data, or void. A polymorphic interface that is not an Object "
                  "(a mixin) is refused: its pointer is interior unless it is the object's first base. Hold "
                  "the object by its own type (see include/tricolor/member.hpp)");
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
