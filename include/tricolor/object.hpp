// Traced objects and allocation.
//
//   struct Node : tricolor::Object<Node> {
//     tricolor::Member<Node> next;
//     void trace(tricolor::Tracer& t) const { t.trace(next, "next"); }
//   };
//   Node* n = tricolor::make<Node>();
//
// Per-type information (trace, destructor if not trivial, type name) is registered once per type, on
// first allocation. Destructors run when the sweeper reclaims the object, on whichever thread sweeps
// (an allocating mutator or the background sweeper): a destructor must not touch other collected
// objects (they may already be gone) and must not allocate.
//
// Objects never move. A raw T* stays valid as long as the object is reachable from a root (a Root,
// a Global, a root callback, or a chain of Members from one of those): walking a rooted structure
// with raw pointers while allocating is fine. An object that nothing else holds — e.g. the result
// of make<>() before it is stored anywhere — is only safe until the thread's next safepoint (an
// allocation that takes the slow path, safepoint(), a BlockingScope): root it before those.
#pragma once
#include "tricolor/internal/api.hpp"
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "tricolor/internal/fast_path.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor {

// Base of every traced type (CRTP). It holds no data; it marks the type as a tricolor object.
template <class T>
class Object {
 protected:
  Object() = default;
};

template <class T>
concept Traceable = requires(const T& obj, Tracer& t) {
  { obj.trace(t) } -> std::same_as<void>;
};

namespace internal {

struct TypeInfo {
  const char* name;  // demangled; owned by the registry
  void (*trace)(const void* obj, Tracer& t);  // null for pointer-free types
  void (*destroy)(void* obj);                 // null when trivially destructible
  std::size_t static_size;                    // sizeof(T)
};

TRICOLOR_API std::uint32_t register_type(const std::type_info& ti, void (*trace)(const void*, Tracer&),
                            void (*destroy)(void*), std::size_t size);
TRICOLOR_API const TypeInfo& type_info(std::uint32_t id);
TRICOLOR_API std::uint32_t buffer_type_id();

template <class T>
void trace_thunk(const void* obj, Tracer& t) {
  if constexpr (Traceable<T>) static_cast<const T*>(obj)->trace(t);
}
template <class T>
void destroy_thunk(void* obj) {
  static_cast<T*>(obj)->~T();
}

template <class T>
constexpr auto trace_fn() -> void (*)(const void*, Tracer&) {
  if constexpr (Traceable<T>) return &trace_thunk<T>;
  else return nullptr;
}

// Inlined into the allocation fast path: after the first call it is one guard-byte test and a load.
template <class T>
[[gnu::always_inline]] inline std::uint32_t type_id() {
  static const std::uint32_t id = register_type(
      typeid(T), trace_fn<T>(), std::is_trivially_destructible_v<T> ? nullptr : &destroy_thunk<T>,
      sizeof(T));
  return id;
}

// The new object is reachable from this root while its constructor runs: a constructor that
// allocates may reach a safepoint, and a collection there must keep (and may scan) the object.
struct ConstructionRoot : RootNode {
  ThreadFast* t;
  ConstructionRoot(ThreadFast* thread, const void* obj) : RootNode{thread->roots, obj, "<object under construction>"}, t(thread) {
    t->roots = this;
  }
  ~ConstructionRoot() { t->roots = prev; }
};

template <class T>
constexpr void check_object_type() {
  static_assert(std::is_base_of_v<Object<T>, T>,
                "tricolor::make<T>: T must derive from tricolor::Object<T>");
  static_assert(Traceable<T>,
                "tricolor::make<T>: T must define `void trace(tricolor::Tracer&) const` visiting "
                "each Member field (an empty body if it has none)");
  static_assert(alignof(T) <= kMinAlignment, "tricolor: objects are 8-byte aligned");
}

template <class T>
constexpr SpanKind span_kind_of() {
  return std::is_trivially_destructible_v<T> ? SpanKind::kScan : SpanKind::kFinalize;
}

template <class T, class... Args>
T* construct_at_slot(ThreadFast* t, void* payload, std::size_t bytes, Args&&... args) {
  std::memset(payload, 0, bytes);
  if constexpr (std::is_nothrow_constructible_v<T, Args...> && std::is_trivially_constructible_v<T, Args...>) {
    return new (payload) T(std::forward<Args>(args)...);
  } else {
    ConstructionRoot guard(t, payload);
    try {
      return new (payload) T(std::forward<Args>(args)...);
    } catch (...) {
      // The slot stays allocated until the next sweep; make it an inert buffer so no destructor or
      // trace runs on a half-built object.
      header_of(payload)->type_id = buffer_type_id();
      throw;
    }
  }
}

// Sizes. A request's variable part (trailing bytes, a buffer's length, count * sizeof(T)) is never
// added to anything before it is compared with a constant bound, so no sum wraps:
//  - small_extra_bytes<kFixed>(): the largest variable part that still fits a small slot next to
//    kFixed fixed payload bytes and the header. The small path is one compare against it, folded
//    for fixed sizes.
//  - slot_bytes(): payload + header for the large path, saturated at SIZE_MAX. allocate_large_*()
//    (gc/allocator.cpp) is the one place that refuses a size no heap could hold, and SIZE_MAX is
//    always such a size.
template <std::size_t kFixed>
constexpr std::size_t small_extra_bytes() {
  return kFixed + kHeaderSize <= kMaxSmallSize ? kMaxSmallSize - kHeaderSize - kFixed : 0;
}
constexpr std::size_t slot_bytes(std::size_t fixed_bytes, std::size_t extra_bytes) {
  std::size_t n = 0;
  if (__builtin_add_overflow(fixed_bytes + kHeaderSize, extra_bytes, &n)) return SIZE_MAX;
  return n;
}
constexpr std::size_t saturating_mul(std::size_t count, std::size_t size) {
  std::size_t n = 0;
  if (__builtin_mul_overflow(count, size, &n)) return SIZE_MAX;
  return n;
}

// The one small/large dispatch of every allocation entry point (make<T>, make_with_trailing,
// make_buffer, the C API's tc_alloc): the payload (header written) of kFixed bytes followed by
// extra_bytes, or null (may_fail) when the heap cannot hold it. With kFixed and the extra constant
// (make<T>), the size class and the branch fold away.
template <std::size_t kFixed>
[[gnu::always_inline]] inline void* allocate_object(ThreadFast* t, std::size_t extra_bytes, SpanKind kind, std::uint32_t tid, bool may_fail) {
  if constexpr (kFixed + kHeaderSize <= kMaxSmallSize) {
    if (extra_bytes <= small_extra_bytes<kFixed>()) {
      const std::size_t sc = span_class(size_to_class(kFixed + extra_bytes + kHeaderSize), kind);
      void* slot = allocate_small(t, sc, may_fail);
      return slot == nullptr ? nullptr : finish_allocation(t, slot, tid);
    }
  }
  return allocate_large_may_reach_safepoint(t, slot_bytes(kFixed, extra_bytes), tid, kind == SpanKind::kNoScan,
                                            may_fail);
}

// The payload (header written) for a T followed by trailing_bytes, or null (kMayFail) when the
// heap cannot hold it.
template <class T, bool kMayFail>
void* allocate_payload(ThreadFast* t, std::uint32_t tid, std::size_t trailing_bytes) {
  return allocate_object<sizeof(T)>(t, trailing_bytes, span_kind_of<T>(), tid, kMayFail);
}

template <class T, bool kMayFail, class... Args>
T* make_impl(std::size_t trailing_bytes, Args&&... args) {
  check_object_type<T>();
  ThreadFast* t = current_thread("allocate");
  void* obj = allocate_payload<T, kMayFail>(t, type_id<T>(), trailing_bytes);
  if (obj == nullptr) [[unlikely]]
    return nullptr;
  // The object exists, so its size fits the heap: this sum cannot wrap.
  return construct_at_slot<T>(t, obj, sizeof(T) + trailing_bytes, std::forward<Args>(args)...);
}

// Fixed-size fast path: no trailing bytes, so allocate_object (always inlined) folds to the small
// path of a compile-time span class, or to the large one.
template <class T, bool kMayFail, class... Args>
T* make_fixed(Args&&... args) {
  check_object_type<T>();
  ThreadFast* t = current_thread("allocate");
  const std::uint32_t tid = type_id<T>();
  void* obj = allocate_object<sizeof(T)>(t, 0, span_kind_of<T>(), tid, kMayFail);
  if (obj == nullptr) [[unlikely]]
    return nullptr;
  return construct_at_slot<T>(t, obj, sizeof(T), std::forward<Args>(args)...);
}

TRICOLOR_API void* make_buffer_impl(std::size_t bytes, bool may_fail);

}  // namespace internal

// Allocates and constructs a T. Throws std::bad_alloc when the heap limit is reached even after an
// emergency collection, or at once for a size the heap could never hold (make_with_trailing).
template <class T, class... Args>
T* make(Args&&... args) {
  T* p = internal::make_fixed<T, false>(std::forward<Args>(args)...);
  return p;  // never null: the slow path throws
}

// As make<T>, but returns null instead of throwing when the heap limit is reached.
template <class T, class... Args>
T* try_make(Args&&... args) {
  return internal::make_fixed<T, true>(std::forward<Args>(args)...);
}

// A variable-size object: sizeof(T) + trailing_bytes, zeroed; T ends in a trailing array
// (e.g. `Member<Value> items[]` or `char bytes[]`) whose length T stores itself.
template <class T, class... Args>
T* make_with_trailing(std::size_t trailing_bytes, Args&&... args) {
  return internal::make_impl<T, false>(trailing_bytes, std::forward<Args>(args)...);
}
template <class T, class... Args>
T* try_make_with_trailing(std::size_t trailing_bytes, Args&&... args) {
  return internal::make_impl<T, true>(trailing_bytes, std::forward<Args>(args)...);
}

// A pointer-free buffer that the collector never scans (Boehm's GC_MALLOC_ATOMIC). Its contents are
// not initialised. Hold it like any object: Member<char>, Root<double>, ... (Member<T> takes any T).
TRICOLOR_API void* make_buffer(std::size_t bytes);
TRICOLOR_API void* try_make_buffer(std::size_t bytes);
// Sizes that cannot be held (more than the heap's reservation or hard limit, or count * sizeof(T)
// past SIZE_MAX) fail like an exhausted heap: std::bad_alloc, or null from try_make_buffer, and
// nothing is allocated.
template <class T>
T* make_buffer_of(std::size_t count) {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= internal::kMinAlignment,
                "make_buffer_of<T>: T must be trivially copyable plain data");
  return static_cast<T*>(make_buffer(internal::saturating_mul(count, sizeof(T))));
}

// The type name registered for obj's type (leak reports, heap snapshots).
TRICOLOR_API const char* type_name_of(const void* obj);

}  // namespace tricolor
