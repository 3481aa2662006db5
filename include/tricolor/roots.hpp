// Roots: where marking starts.
//  - Root<T>: a stack handle on the current thread's LIFO root list. Create it on the stack of an
//    attached thread; destroy in reverse order (C++ scoping does this). Scanned by its own thread at
//    a handshake, or on its behalf while the thread is blocked. No heap barrier is needed on assignment;
//    from a cycle's barrier round until its root round is over, the new value is shaded so objects
//    handed between threads outside the heap survive (after that there is nothing to shade: the
//    "Root part" in gc/write_barrier.cpp).
//  - Global<T>: a heap-wide root with a name (shows up in leak reports). Stores are barriered like
//    Member stores, because marker threads scan globals concurrently.
//  - Root callbacks (Heap::add_roots, Mutator::add_roots): trace an interpreter's own value stack or
//    tables; see heap.hpp and mutator.hpp.
//
// Every pointer stored in a Global or Weak is checked, in every build (neither is a hot path): it must
// be an object of the heap (the one make<>() returned), not an interior pointer (a member, a base class
// other than the first, an element) or memory of another heap, which would crash the next collection
// far from the cause. Root is on the mutator's hot path (a handle per call frame in a tree walk), so it
// checks in two tiers: every build refuses, inline, a pointer outside the heap's address reservation
// (malloc'ed, stack or static memory, another heap: a subtraction and a compare); debug-check builds
// also refuse an interior pointer at once. In other builds an interior pointer is stopped, with the
// same fix named, by the marker at the next collection (gc/marker.hpp checks every pointer it shades).
#pragma once
#include "tricolor/internal/api.hpp"
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tricolor/internal/fast_path.hpp"

namespace tricolor {

class Heap;

namespace internal {
// Stops with a message naming `what` unless p (not null) is an object of `heap`, or of the calling
// thread's heap when heap is null (skipped on an unattached thread: there is no heap to ask).
TRICOLOR_API void check_object_pointer(const void* p, const char* what, const HeapImpl* heap = nullptr);

// Root's check (see the top of this file): p is not null.
inline void check_root_pointer(const ThreadFast* t, const void* p) {
#if defined(TRICOLOR_DEBUG_CHECKS) && TRICOLOR_DEBUG_CHECKS
  check_object_pointer(p, "tricolor::Root", t->heap);
#else
  if (reinterpret_cast<std::uintptr_t>(p) - t->heap_base >= t->heap_bytes) [[unlikely]]
    check_object_pointer(p, "tricolor::Root", t->heap);  // not in the reservation: stops with the message
#endif
}
}  // namespace internal

// The write barrier for pointer slots outside the heap that a heap-wide root callback traces (an
// interpreter's global table kept in C++ memory): call it with the slot's old and new values before
// storing. Per-thread callbacks (Mutator::add_roots) need it only for pointers received from another
// thread outside the heap; receive those into a Root<T> first, or call this.
inline void root_slot_barrier(const void* old_value, const void* new_value) {
  internal::write_barrier(old_value, new_value);
  internal::shade_if_marking(new_value);
}

template <class T>
class Root : private internal::RootNode {
 public:
  explicit Root(T* p = nullptr, const char* root_name = nullptr) : RootNode{nullptr, p, root_name} {
    internal::ThreadFast* t = internal::current_thread("create a Root");
    if (p != nullptr) internal::check_root_pointer(t, p);
    prev = t->roots;
    t->roots = this;
    barrier(p);
  }
  Root(const Root& other) : Root(other.get(), other.name) {}
  Root& operator=(const Root& other) { return *this = other.get(); }
  Root& operator=(T* p) {
    if (p != nullptr) internal::check_root_pointer(internal::current_thread("assign a Root"), p);
    barrier(p);
    ptr = p;
    return *this;
  }
  ~Root() {
    internal::ThreadFast* t = internal::tls_thread;
    if (t == nullptr || t->roots != this) [[unlikely]]
      internal::fail_root_order(this);
    t->roots = prev;
  }

  T* get() const { return static_cast<T*>(const_cast<void*>(ptr)); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  operator T*() const { return get(); }  // NOLINT
  explicit operator bool() const { return ptr != nullptr; }

 private:
  static void barrier(const void* p) { internal::shade_if_roots_pending(p); }
};

namespace internal {
// A Global's slot, linked into its heap's global list (under the heap's roots lock).
struct GlobalNode {
  GlobalNode* prev = nullptr;
  GlobalNode* next = nullptr;
  std::atomic<const void*> ptr{nullptr};
  const char* name = nullptr;
  HeapImpl* heap = nullptr;
};
TRICOLOR_API void register_global(Heap& heap, GlobalNode* node);
TRICOLOR_API void unregister_global(GlobalNode* node);
}  // namespace internal

template <class T>
class Global : private internal::GlobalNode {
 public:
  explicit Global(Heap& owner, T* p = nullptr, const char* global_name = nullptr) {
    name = global_name;
    internal::register_global(owner, this);
    if (p != nullptr) *this = p;
  }
  Global(const Global&) = delete;
  Global& operator=(const Global&) = delete;
  ~Global() { internal::unregister_global(this); }

  Global& operator=(T* p) {
    internal::current_thread("store into a Global");
    if (p != nullptr) internal::check_object_pointer(p, "tricolor::Global", heap);
    internal::write_barrier(ptr.load(std::memory_order_acquire), p);  // acquire: as in Member::store
    ptr.store(p, std::memory_order_release);  // publication, as for Member
    return *this;
  }
  T* get() const { return static_cast<T*>(const_cast<void*>(ptr.load(std::memory_order_acquire))); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  operator T*() const { return get(); }  // NOLINT
  explicit operator bool() const { return get() != nullptr; }
};

}  // namespace tricolor
