// The interpreter's whole view of its garbage collector, in one header, so that the same interpreter
// source builds on tricolor (precise, concurrent) and on Boehm (conservative, -DSCHEME_BACKEND_BOEHM).
// Everything else in examples/scheme is back-end neutral; what differs is named here:
//
//   Managed<T>        base of every heap type: tricolor::Object<T> / nothing
//   Field<T>          a pointer field inside a heap object: tricolor::Member<T> (write barrier) / T*
//   Weak<T>           a field that does not keep its target alive: tricolor::Weak<T> / a strong
//                     pointer (Boehm could use disappearing links; the benchmarks do not need them)
//   WeakCallback      runs after each collection's weak clearing (a weak table turns cleared
//                     entries into tombstones): tricolor::add_weak_callback / never called
//   Tracer            what trace() receives: tricolor::Tracer / a stand-in that is never called
//   make<T>, make_with_trailing<T>
//                     allocation; throw OutOfMemory at the heap limit. A type that says
//                     `static constexpr bool kPointerFree = true` is never scanned by Boehm
//                     (GC_MALLOC_ATOMIC); tricolor learns the same from its empty trace().
//   LocalRoot<T>      a C++ local that must survive an allocation: tricolor::Root<T> / a plain pointer
//                     (Boehm scans the C stack)
//   RootRegistration  the embedder's own roots: a trace callback scanned at this thread's handshake
//                     (tricolor) / a memory range scanned conservatively (Boehm)
//   alloc_root_array  memory for the value stack: malloc (tricolor scans it through the callback) /
//                     uncollectable memory (Boehm scans all of it, so popped slots must be cleared:
//                     kScansStaleSlots)
//   Blocking          a region that does not touch the heap (waiting on stdin): tricolor::BlockingScope
//   Runtime           the heap and this thread's attachment to it, stats, collect
//
// Invariant both back ends rely on: objects never move. A raw pointer stays valid for as long as the
// object is reachable from a root, so the interpreter may hold a raw pointer across an allocation
// when (and only when) the same object is also on its value stack or in a register it traces.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#if defined(SCHEME_BACKEND_BOEHM)
#include <gc.h>
#else
#include <tricolor/tricolor.hpp>
#endif

namespace scheme::gc {

// Thrown by allocation when the heap limit is reached even after a collection.
struct OutOfMemory {};

struct Options {
  bool stress = false;        // collect all the time, verify every cycle (tricolor)
  std::size_t collect_every = 0;  // a full collection every N allocations (tricolor; 0 off)
  std::size_t max_heap = 0;   // 0: no limit
};

struct Stats {
  std::size_t heap_bytes = 0;
  std::size_t heap_peak_bytes = 0;
  std::size_t live_bytes = 0;
  std::uint64_t cycles = 0;
};

template <class T>
concept PointerFree = requires { requires T::kPointerFree; };

#if defined(SCHEME_BACKEND_BOEHM)

inline constexpr const char* kBackendName = "boehm";
inline constexpr bool kPrecise = false;
inline constexpr bool kScansStaleSlots = true;

template <class T>
struct Managed {};

template <class T>
using Field = T*;

template <class T>
class Weak {
 public:
  Weak(T* p = nullptr) : p_(p) {}  // NOLINT: like tricolor::Weak
  T* get() const { return p_; }
  T* peek() const { return p_; }

 private:
  T* p_;
};

// Stand-in: Boehm never calls trace(), but the heap types keep one source for both back ends.
class Tracer {
 public:
  template <class... A>
  void trace(A&&...) {}
};
using RootCallback = void (*)(Tracer&, void*);

template <class T, class... A>
T* make_with_trailing(std::size_t trailing, A&&... args) {
  const std::size_t bytes = sizeof(T) + trailing;
  void* p = PointerFree<T> ? GC_MALLOC_ATOMIC(bytes) : GC_MALLOC(bytes);
  if (p == nullptr) [[unlikely]]
    throw OutOfMemory{};
  // GC_MALLOC clears memory; GC_MALLOC_ATOMIC does not, and trailing arrays expect zeroes.
  if constexpr (PointerFree<T>) __builtin_memset(p, 0, bytes);
  return new (p) T(std::forward<A>(args)...);
}
template <class T, class... A>
T* make(A&&... args) {
  return make_with_trailing<T>(0, std::forward<A>(args)...);
}

template <class T>
class LocalRoot {
 public:
  explicit LocalRoot(T* p = nullptr) : p_(p) {}
  LocalRoot& operator=(T* p) {
    p_ = p;
    return *this;
  }
  T* get() const { return p_; }
  T* operator->() const { return p_; }

 private:
  T* volatile p_;  // volatile: keep it in a stack slot the collector scans, not only in a register
};

// Boehm stops threads with signals, so a thread waiting on I/O needs no declaration.
class Blocking {
 public:
  Blocking() {}  // user-provided: a scope object, not an unused variable
  ~Blocking() {}
};

inline void safepoint() {}

class RootRegistration {
 public:
  RootRegistration(class Runtime&, RootCallback, void*, const char*, void* begin, void* end)
      : begin_(begin), end_(end) {
    GC_add_roots(begin, end);
  }
  ~RootRegistration() { GC_remove_roots(begin_, end_); }
  RootRegistration(const RootRegistration&) = delete;
  RootRegistration& operator=(const RootRegistration&) = delete;

 private:
  void* begin_;
  void* end_;
};

// Boehm's weak references are strong here: nothing is ever cleared, so nothing needs pruning.
class WeakCallback {
 public:
  WeakCallback(class Runtime&, void (*)(void*), void*) {}
  WeakCallback(const WeakCallback&) = delete;
  WeakCallback& operator=(const WeakCallback&) = delete;
};

inline void* alloc_root_array(std::size_t bytes) {
  void* p = GC_MALLOC_UNCOLLECTABLE(bytes);
  if (p == nullptr) throw OutOfMemory{};
  return p;
}
inline void free_root_array(void* p) { GC_FREE(p); }

class Runtime {
 public:
  explicit Runtime(const Options& options) {
    GC_INIT();
    if (options.max_heap != 0) GC_set_max_heap_size(options.max_heap);
    // Boehm has no verifier; the closest to "collect all the time" is a small free-space divisor.
    if (options.stress) GC_set_free_space_divisor(64);
  }
  void collect() { GC_gcollect(); }
  Stats stats() const {
    Stats s;
    s.heap_bytes = GC_get_heap_size();
    // Boehm's heap only grows (unmapping aside), so its size is its peak.
    s.heap_peak_bytes = s.heap_bytes;
    s.live_bytes = GC_get_heap_size() - GC_get_free_bytes();
    s.cycles = GC_get_gc_no();
    return s;
  }
};

#else  // tricolor

inline constexpr const char* kBackendName = "tricolor";
inline constexpr bool kPrecise = true;
inline constexpr bool kScansStaleSlots = false;

template <class T>
using Managed = tricolor::Object<T>;
template <class T>
using Field = tricolor::Member<T>;
template <class T>
using Weak = tricolor::Weak<T>;
using Tracer = tricolor::Tracer;
using RootCallback = tricolor::RootCallback;

template <class T, class... A>
T* make_with_trailing(std::size_t trailing, A&&... args) {
  try {
    return tricolor::make_with_trailing<T>(trailing, std::forward<A>(args)...);
  } catch (const std::bad_alloc&) {
    throw OutOfMemory{};
  }
}
template <class T, class... A>
T* make(A&&... args) {
  try {
    return tricolor::make<T>(std::forward<A>(args)...);
  } catch (const std::bad_alloc&) {
    throw OutOfMemory{};
  }
}

template <class T>
using LocalRoot = tricolor::Root<T>;
using Blocking = tricolor::BlockingScope;

inline void safepoint() { tricolor::safepoint(); }

// The interpreter's roots are scanned by its own thread at that thread's handshake, so the interpreter
// writes its value stack and registers without barriers (see docs/embedding.md, "Roots").
class RootRegistration {
 public:
  RootRegistration(class Runtime& rt, RootCallback callback, void* context, const char* name, void*,
                   void*);
  ~RootRegistration();
  RootRegistration(const RootRegistration&) = delete;
  RootRegistration& operator=(const RootRegistration&) = delete;

 private:
  tricolor::Mutator* mutator_;
  std::uint64_t id_;
};

// Runs fn(context) once per cycle after weak clearing, with the world stopped (tricolor/weak.hpp).
class WeakCallback {
 public:
  WeakCallback(class Runtime& rt, void (*fn)(void*), void* context);
  ~WeakCallback();
  WeakCallback(const WeakCallback&) = delete;
  WeakCallback& operator=(const WeakCallback&) = delete;

 private:
  tricolor::Heap* heap_;
  std::uint64_t id_;
};

void* alloc_root_array(std::size_t bytes);
void free_root_array(void* p);

class Runtime {
 public:
  explicit Runtime(const Options& options);
  void collect() { heap_.collect(); }
  Stats stats() const;
  tricolor::Heap& heap() { return heap_; }
  tricolor::Mutator& mutator() { return mutator_; }

 private:
  static tricolor::Config make_config(const Options& options);

  tricolor::Heap heap_;          // declared first: outlives the mutator
  tricolor::Mutator mutator_;
};

#endif

}  // namespace scheme::gc
