// Boehm-side plumbing shared by the Boehm workloads: allocation that reports the heap limit as
// std::bad_alloc (as tricolor's make<T> does), registered worker threads, and the workload table.
//
// Boehm is used as its documentation asks of a multi-threaded program: GC_THREADS, GC_INIT on the
// main thread, GC_allow_register_threads, and every other thread that touches the heap registered
// with GC_register_my_thread. Traced nodes come from GC_MALLOC, pointer-free arrays from
// GC_MALLOC_ATOMIC. Collector settings are Debian's defaults (parallel marking on all cores,
// interior pointers on, free-space divisor 3); only the maximum heap size is set.
#pragma once
#define GC_THREADS 1
#include <gc.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "common/harness.hpp"

namespace bench::boehm {

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
// The bytes one object of this request occupies (granule rounding and Boehm's extra byte included).
std::size_t footprint(std::size_t request);

// Worker threads, registered with the collector for their whole life. A failure in a worker (heap
// limit, failed check) is kept and rethrown by join() so that the run reports it.
class Threads {
 public:
  void spawn(std::function<void()> body);
  void join();

 private:
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::exception_ptr failure_;
};

struct Workload {
  const char* name;
  std::size_t (*peak_live)(const Options&);
  void (*run)(const Options&, Record&);
};
const Workload* find_workload(const std::string& name);

std::size_t gcbench_live(const Options& o);
void gcbench_run(const Options& o, Record& r);
std::size_t binary_trees_live(const Options& o);
void binary_trees_run(const Options& o, Record& r);
std::size_t quad_tree_live(const Options& o);
void quad_tree_run(const Options& o, Record& r);
std::size_t mark_scaling_live(const Options& o);
void mark_scaling_run(const Options& o, Record& r);
std::size_t rss_return_live(const Options& o);
void rss_return_run(const Options& o, Record& r);

// The collection counters of bench/boehm/main.cpp's event callback so far: collections, time in
// marking (GC_EVENT_MARK_START to MARK_END) and pauses recorded. Read them only from the thread that
// collects, or while no collection can run.
struct GcTotals {
  std::uint64_t collections;
  std::uint64_t mark_ns;
  std::size_t pauses;
};
GcTotals gc_totals();
const PauseRecord& recorded_pause(std::size_t i);

}  // namespace bench::boehm
