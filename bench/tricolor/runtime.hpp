// tricolor-side plumbing shared by the tricolor workloads: attached worker threads, the footprint of
// an object, and the workload table.
//
// Rules the workloads follow (include/tricolor/object.hpp): a raw pointer returned by make<>() must
// be in a Root, or stored into an object reachable from one, before the thread's next allocation.
// An object reachable from a Root through fields nobody overwrites stays alive, and tricolor never
// moves objects, so a raw pointer to such an object (e.g. the parent node in GCBench's top-down
// Populate) stays valid across allocations. Every thread that waits (join) does so inside a
// BlockingScope, and every long loop that does not allocate calls safepoint(), so no collection waits
// on a thread that is busy elsewhere.
#pragma once
#include <tricolor/tricolor.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/harness.hpp"

namespace bench::tc {

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

// Worker threads, each attached to the heap with its own Mutator for its whole life. A failure in a
// worker (heap limit, failed check) is kept and rethrown by join(). join() waits inside a
// BlockingScope when the caller is attached, so that collections proceed while it waits.
class Threads {
 public:
  explicit Threads(tricolor::Heap& heap) : heap_(heap) {}
  void spawn(const char* name, std::function<void()> body);
  void join();

 private:
  tricolor::Heap& heap_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::exception_ptr failure_;
};

struct Workload {
  const char* name;
  std::size_t (*peak_live)(const Options&);
  void (*run)(const Options&, Record&, tricolor::Heap&);
  // Optional: adjusts the heap's Config after the suite's limit and pacing are applied (before the
  // TRICOLOR_* environment and --markers, which win).
  void (*configure)(const Options&, tricolor::Config&) = nullptr;
};
const Workload* find_workload(const std::string& name);

std::size_t gcbench_live(const Options& o);
void gcbench_run(const Options& o, Record& r, tricolor::Heap& heap);
std::size_t binary_trees_live(const Options& o);
void binary_trees_run(const Options& o, Record& r, tricolor::Heap& heap);
std::size_t quad_tree_live(const Options& o);
void quad_tree_run(const Options& o, Record& r, tricolor::Heap& heap);
std::size_t mark_scaling_live(const Options& o);
void mark_scaling_configure(const Options& o, tricolor::Config& cfg);
void mark_scaling_run(const Options& o, Record& r, tricolor::Heap& heap);
std::size_t rss_return_live(const Options& o);
void rss_return_run(const Options& o, Record& r, tricolor::Heap& heap);

}  // namespace bench::tc
