// The tricolor back end of the benchmark workloads (interface: backends/backend.hpp).
//
// Rules the workloads follow (include/tricolor/object.hpp): a raw pointer returned by make<>() must
// be in a LocalRoot, or stored into an object reachable from one, before the thread's next allocation.
// An object reachable from a root through fields nobody overwrites stays alive, and tricolor never
// moves objects, so a raw pointer to such an object (e.g. the parent node in GCBench's top-down
// Populate) stays valid across allocations. Every thread that waits (join) does so inside a
// BlockingScope, and every long loop that does not allocate ticks a WalkPoll, so no collection waits
// on a thread that is busy elsewhere.
#pragma once
#include <tricolor/tricolor.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/harness.hpp"

namespace bench::gc {

inline constexpr const char* kName = "tricolor";

template <class T>
using Managed = tricolor::Object<T>;
template <class T>
using Field = tricolor::Member<T>;
using Tracer = tricolor::Tracer;
template <class T>
using LocalRoot = tricolor::Root<T>;
using Blocking = tricolor::BlockingScope;
using Settings = tricolor::Config;

template <class T>
T* make() {
  return tricolor::make<T>();
}
template <class T>
T* make_pointer_free(std::size_t n) {
  return tricolor::make_buffer_of<T>(n);
}

// The slot a small object of type T occupies: payload plus the 8-byte header, rounded to its class.
template <class T>
constexpr std::size_t footprint() {
  using namespace tricolor::internal;
  static_assert(sizeof(T) + kHeaderSize <= kMaxSmallSize);
  return class_size(size_to_class(sizeof(T) + kHeaderSize));
}
// A large (> 32 KiB) object is a span of whole pages.
constexpr std::size_t large_footprint(std::size_t bytes) {
  using namespace tricolor::internal;
  return (bytes + kHeaderSize + kPageSize - 1) / kPageSize * kPageSize;
}

class WalkPoll {
 public:
  void tick() {
    if (++since_ == 4096) {
      since_ = 0;
      tricolor::safepoint();
    }
  }

 private:
  std::uint32_t since_ = 0;
};

// One heap for the whole process (tricolor_main.cpp creates it with the suite's limit and pacing).
class Runtime {
 public:
  explicit Runtime(tricolor::Heap& heap) : heap_(heap) {}
  tricolor::Heap& heap() { return heap_; }

  void collect() { heap_.collect(); }

  // Cumulative figures, read before and after a timed collection (mark-scaling, rss-return).
  struct Totals {
    tricolor::Stats stats;
    std::uint64_t cycles() const { return stats.cycles; }
    double mark_wall_ms() const { return stats.mark_wall_ms; }
    double mark_cpu_ms() const { return stats.mark_cpu_ms; }
    double live_bytes() const { return double(stats.live_bytes); }
  };
  static constexpr bool kHasMarkCpu = true;
  Totals totals() const { return {heap_.stats()}; }

  // The global pauses (mark start, mark termination, full stop) that began at or after t0, from the
  // heap's own accounting in `after`. A concurrent cycle without heap-wide root callbacks or weak work
  // has none (its mark start and termination are handshake rounds): 0.
  struct PauseSum {
    double total_ms = 0, max_ms = 0;
  };
  static PauseSum global_pauses_since(const Totals&, const Totals& after, std::uint64_t t0) {
    PauseSum sum;
    for (const tricolor::Pause& p : after.stats.pauses) {
      if (p.start_ns < t0 || !is_global(p.kind)) continue;
      sum.total_ms += double(p.duration_ns) / 1e6;
      sum.max_ms = std::max(sum.max_ms, double(p.duration_ns) / 1e6);
    }
    return sum;
  }

  // mark-scaling: only explicit collections (gc_percent -1, no limit: the heap holds only the tree).
  static void explicit_collections_only(Settings& cfg) {
    cfg.gc_percent = -1;
    cfg.max_heap = 0;
  }
  // Nothing to pause while the tree is built: explicit_collections_only() already did.
  struct BuildWithoutCollections {
    BuildWithoutCollections() {}  // user-provided: a scope object, not an unused variable
  };
  // The marker count the heap runs with (its default when the Config left it 0).
  unsigned markers() const {
    return heap_.config().marker_threads != 0 ? heap_.config().marker_threads
                                              : std::max(1u, std::thread::hardware_concurrency() / 2);
  }

  // rss-return: the collector's defaults (scavenge_delay_ms from the Config, 500 ms unless
  // TRICOLOR_SCAVENGE_MS says otherwise) under the suite's heap limit and pacing.
  void rss_return_setup(Record& rec) { rec.note("tricolor_scavenge_delay_ms", heap_.config().scavenge_delay_ms); }
  void rss_return_notes(Record& rec, const Totals& at_drop, const Totals& at_end) const {
    rec.note("tricolor_heap_bytes_at_end", double(at_end.stats.heap_bytes));
    rec.note("tricolor_committed_bytes_at_end", double(at_end.stats.committed_bytes));
    rec.note("tricolor_released_bytes_at_end", double(at_end.stats.released_bytes));
    rec.note("tricolor_heap_goal_at_drop", double(at_drop.stats.heap_goal));
    rec.note("tricolor_live_bytes_last_cycle_at_end", double(at_end.stats.live_bytes));
  }

 private:
  static bool is_global(tricolor::PauseKind k) {
    return k == tricolor::PauseKind::kMarkStart || k == tricolor::PauseKind::kMarkTermination ||
           k == tricolor::PauseKind::kFullStop;
  }
  tricolor::Heap& heap_;
};

template <class T>
class GlobalRoot {
 public:
  GlobalRoot(Runtime& rt, const char* name) : g_(rt.heap(), nullptr, name) {}
  GlobalRoot& operator=(T* p) {
    g_ = p;
    return *this;
  }
  T* get() const { return g_.get(); }
  T* operator->() const { return g_.get(); }
  operator T*() const { return g_.get(); }  // NOLINT: like tricolor::Global

 private:
  tricolor::Global<T> g_;
};

// Worker threads, each attached to the heap with its own Mutator for its whole life. join() waits
// inside a BlockingScope when the caller is attached, so that collections proceed while it waits.
class Threads {
 public:
  explicit Threads(Runtime& rt) : heap_(rt.heap()) {}
  void spawn(const char* name, std::function<void()> body);
  void join();

 private:
  tricolor::Heap& heap_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::exception_ptr failure_;
};

}  // namespace bench::gc
