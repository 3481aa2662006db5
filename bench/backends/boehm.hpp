// The Boehm back end of the benchmark workloads (interface: backends/backend.hpp).
//
// Boehm is used as its documentation asks of a multi-threaded program: GC_THREADS, GC_INIT on the
// main thread, GC_allow_register_threads, and every other thread that touches the heap registered
// with GC_register_my_thread. Nodes come from GC_MALLOC, pointer-free arrays from GC_MALLOC_ATOMIC.
// Collector settings are Debian's defaults (parallel marking on all cores, interior pointers on,
// free-space divisor 3); only the maximum heap size is set (boehm_main.cpp).
#pragma once
#define GC_THREADS 1
#include <gc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/harness.hpp"

namespace bench::gc {

inline constexpr const char* kName = "boehm";

template <class T>
struct Managed {};
template <class T>
using Field = T*;
// Boehm finds pointers itself; trace() exists for tricolor and is never called here.
struct Tracer {
  template <class F>
  void trace(const F&, const char* = nullptr) {}
  template <class F>
  void trace_array(const F*, std::size_t, const char* = nullptr) {}
};
template <class T>
class LocalRoot {
 public:
  LocalRoot(T* p) : p_(p) {}  // NOLINT: like tricolor::Root
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  operator T*() const { return p_; }  // NOLINT

 private:
  T* p_;
};
struct Blocking {
  Blocking() {}  // user-provided: a scope object, not an unused variable
};
struct Settings {};

// GC_MALLOC returns null once the heap limit is reached and a collection did not help.
inline void* alloc(std::size_t bytes) {
  void* p = GC_MALLOC(bytes);
  if (p == nullptr) [[unlikely]]
    throw std::bad_alloc();
  return p;
}
inline void* alloc_atomic(std::size_t bytes) {
  void* p = GC_MALLOC_ATOMIC(bytes);
  if (p == nullptr) [[unlikely]]
    throw std::bad_alloc();
  return p;
}

// Nodes are trivially default constructible here (Field<T> is T*, Managed<T> is empty): GC_MALLOC's
// zeroed memory is the node, as it always was on this side.
template <class T>
T* make() {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);
  return static_cast<T*>(alloc(sizeof(T)));
}
template <class T>
T* make_pointer_free(std::size_t n) {
  return static_cast<T*>(alloc_atomic(sizeof(T) * n));
}

// The bytes one object of this request occupies (granule rounding and Boehm's extra byte included).
std::size_t footprint_of(std::size_t request);
template <class T>
std::size_t footprint() {
  return footprint_of(sizeof(T));
}
constexpr std::size_t large_footprint(std::size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

struct WalkPoll {
  void tick() {}
};

// The collection counters of boehm_main.cpp's event callback so far: collections, time in marking
// (GC_EVENT_MARK_START to MARK_END) and pauses recorded. Read them only from the thread that
// collects, or while no collection can run.
struct GcTotals {
  std::uint64_t collections;
  std::uint64_t mark_ns;
  std::size_t pauses;
};
GcTotals gc_totals();
const PauseRecord& recorded_pause(std::size_t i);

class Runtime {
 public:
  void collect() { GC_gcollect(); }

  struct Totals {
    GcTotals gc;
    std::size_t memory_use;
    std::uint64_t cycles() const { return gc.collections; }
    double mark_wall_ms() const { return double(gc.mark_ns) / 1e6; }
    double mark_cpu_ms() const { return -1; }
    double live_bytes() const { return double(memory_use); }
  };
  // Boehm has no marker CPU counter: mark_cpu_ms is reported as -1 (the process CPU of the
  // collection is given).
  static constexpr bool kHasMarkCpu = false;
  Totals totals() const { return {gc_totals(), GC_get_memory_use()}; }

  // Boehm marks with the world stopped: each recorded stop between the two totals is a pause.
  struct PauseSum {
    double total_ms = 0, max_ms = 0;
  };
  static PauseSum global_pauses_since(const Totals& before, const Totals& after, std::uint64_t) {
    PauseSum sum;
    for (std::size_t k = before.gc.pauses; k < after.gc.pauses; ++k) {
      const double d = double(recorded_pause(k).duration_ns) / 1e6;
      sum.total_ms += d;
      sum.max_ms = std::max(sum.max_ms, d);
    }
    return sum;
  }

  static void explicit_collections_only(Settings&) {}
  // Collection is disabled while mark-scaling's tree is built, so the timed GC_gcollect() calls are
  // the only collections on the full heap.
  struct BuildWithoutCollections {
    BuildWithoutCollections() { GC_disable(); }
    ~BuildWithoutCollections() { GC_enable(); }
    BuildWithoutCollections(const BuildWithoutCollections&) = delete;
    BuildWithoutCollections& operator=(const BuildWithoutCollections&) = delete;
  };
  // The marker count is set with GC_set_markers_count(--markers) before GC_INIT (boehm_main.cpp; it
  // counts the collecting thread, like GC_MARKERS); the marker threads are started explicitly, since
  // they otherwise start with the first registered thread and mark-scaling has none.
  unsigned markers() const {
    GC_start_mark_threads();
    return static_cast<unsigned>(GC_get_parallel() + 1);
  }

  // rss-return. Debian's libgc is built with unmapping (USE_MUNMAP): at a collection, heap blocks that
  // have stayed free for GC_UNMAP_THRESHOLD collections are returned to the OS. On top of that
  // default, GC_set_force_unmap_on_gcollect(1) makes an explicit GC_gcollect() (the "collect" mode)
  // unmap every free block at once, the nearest Boehm has to tricolor's scavenger; it changes nothing
  // for the collections Boehm starts by itself (the "churn" mode).
  void rss_return_setup(Record& rec) {
    GC_set_force_unmap_on_gcollect(1);
    rec.note("boehm_force_unmap_on_gcollect", GC_get_force_unmap_on_gcollect());
  }
  void rss_return_notes(Record& rec, const Totals&, const Totals&) const {
    rec.note("boehm_heap_bytes_at_end", double(GC_get_heap_size()));
    rec.note("boehm_unmapped_bytes_at_end", double(GC_get_unmapped_bytes()));
    rec.note("boehm_memory_use_at_end", double(GC_get_memory_use()));
  }
};

// A root every thread reaches: the pointer lives in an uncollectable cell, which Boehm scans, and
// never in a stack slot that could keep a dropped tree alive (Boehm scans stacks conservatively).
template <class T>
class GlobalRoot {
 public:
  GlobalRoot(Runtime&, const char*) : cell_(static_cast<T**>(GC_MALLOC_UNCOLLECTABLE(sizeof(T*)))) {
    if (cell_ == nullptr) throw std::bad_alloc();
    *cell_ = nullptr;
  }
  ~GlobalRoot() { GC_FREE(cell_); }
  GlobalRoot(const GlobalRoot&) = delete;
  GlobalRoot& operator=(const GlobalRoot&) = delete;
  GlobalRoot& operator=(T* p) {
    *cell_ = p;
    return *this;
  }
  T* get() const { return *cell_; }
  T* operator->() const { return *cell_; }
  operator T*() const { return *cell_; }  // NOLINT

 private:
  T** cell_;
};

// Worker threads, registered with the collector for their whole life.
class Threads {
 public:
  explicit Threads(Runtime&) {}
  void spawn(const char* name, std::function<void()> body);
  void join();

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::exception_ptr failure_;
};

}  // namespace bench::gc
