// The benchmark workloads' whole view of a collector, so that each workload (bench/workloads/) is
// written once and compiled once per collector, as Whippet builds its benchmarks per collector and as
// examples/scheme/backend.hpp does for the interpreter. The build defines BENCH_BACKEND_TRICOLOR or
// BENCH_BACKEND_BOEHM; each back end lives in its own header and provides, in namespace bench::gc:
//
//   kName               "tricolor" / "boehm"
//   Managed<T>          base of every node type: tricolor::Object<T> / nothing
//   Field<T>            a pointer field of a node: tricolor::Member<T> (write barrier) / T*
//   Tracer              what a node's trace() receives: tricolor::Tracer / a stand-in never called
//   make<T>()           a new node, pointer fields null; throws std::bad_alloc at the heap limit. Node
//                       types are trivially default constructible under Boehm, so its make<T> is the
//                       bare GC_MALLOC it always was (Boehm's memory comes zeroed)
//   make_pointer_free<T>(n)  an array the collector never scans: make_buffer_of / GC_MALLOC_ATOMIC
//   footprint<T>()      bytes one node occupies (tricolor: header + class rounding; Boehm: GC_size of
//                       a probe allocation); large_footprint(bytes) for one big array
//   LocalRoot<T>        a C++ local that must survive the next allocation: tricolor::Root<T> / a plain
//                       pointer (Boehm scans stacks)
//   GlobalRoot<T>       a root every thread reaches: tricolor::Global<T> / a pointer in an
//                       uncollectable cell (a root Boehm scans, never a stale stack slot)
//   WalkPoll            tick() once per node of a walk that does not allocate: a safepoint every 4096
//                       (tricolor's rule for long non-allocating loops) / nothing (Boehm stops threads
//                       by signal)
//   Blocking            a region that waits without touching the heap: tricolor::BlockingScope / nothing
//   Threads             workers attached (tricolor::Mutator) / registered (GC_register_my_thread) for
//                       their whole life; a worker's exception is rethrown by join()
//   Runtime             the collector a workload runs on: collect(), totals() (cycles, marking time,
//                       live bytes), global_pauses_since(), the explicit-collection setup of
//                       mark-scaling and the collector notes of rss-return
//   Settings            what a workload may adjust before the heap exists: tricolor::Config / nothing
//
// The idle-collector baseline is the tricolor back end with collection off (tricolor-bench --idle,
// bench/backends/tricolor_main.cpp), as before.
#pragma once

#if defined(BENCH_BACKEND_BOEHM)
#include "backends/boehm.hpp"
#elif defined(BENCH_BACKEND_TRICOLOR)
#include "backends/tricolor.hpp"
#else
#error "bench: define BENCH_BACKEND_TRICOLOR or BENCH_BACKEND_BOEHM (bench/meson.build does)"
#endif

#include "common/harness.hpp"

namespace bench {

// Every workload: its peak live bytes on this back end (the heap limit is a multiple of it), its run,
// and optionally a change to the heap's settings (applied by tricolor_main.cpp before the TRICOLOR_*
// environment and --markers, which win; Boehm has none to make).
struct Workload {
  const char* name;
  std::size_t (*peak_live)(const Options&);
  void (*run)(const Options&, Record&, gc::Runtime&);
  void (*configure)(const Options&, gc::Settings&) = nullptr;
};
const Workload* find_workload(const std::string& name);

}  // namespace bench
