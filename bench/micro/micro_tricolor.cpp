// Micro benchmarks on tricolor: small-object allocation throughput with a small live set, what a
// Root<T> costs a call frame (created and destroyed around one object), and the cost of a Member store
// with the write barrier off (no heap marking) and on (a collection marking).
//
// "Barrier on" is kept honest like this: a background thread calls heap.collect() back to back on a
// heap holding a ~100 MB tree, so marking is on most of the time; each timed batch of stores starts
// only once marking is on and is thrown away (and retried) if marking ended before the batch did.
// The stored pointers are a small set of old objects, so after the first stores of a cycle they are
// already marked: the figure is the barrier's steady cost during marking (the inline record of the
// old value and its share of the buffer flushes' mark-bit checks), not the cost of shading many
// white objects. The background marker and the collect() thread share the machine's cores with the
// benchmark, as they would with any mutator.
#include <tricolor/tricolor.hpp>
#include <tricolor/tricolor.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "micro_common.hpp"

namespace {

using namespace bench::micro;
using tricolor::make;
using tricolor::Member;
using tricolor::Root;

tricolor::Heap* g_heap;

struct Obj32 : tricolor::Object<Obj32> {
  Member<Obj32> a, b;
  std::uint64_t x = 0, y = 0;
  void trace(tricolor::Tracer& t) const {
    t.trace(a);
    t.trace(b);
  }
};
static_assert(sizeof(Obj32) == 32, "a 32-byte object, as Boehm's GC_MALLOC(32)");

struct Table : tricolor::Object<Table> {
  Member<Obj32> slot[kTableSlots];
  void trace(tricolor::Tracer& t) const { t.trace_array(slot, kTableSlots); }
};

// A linked list of n objects: the live set the allocation benchmarks keep.
Obj32* make_list(std::size_t n) {
  Root<Obj32> head(make<Obj32>());
  for (std::size_t i = 1; i < n; ++i) {
    Obj32* o = make<Obj32>();
    o->a = head.get();
    head = o;
  }
  return head.get();
}

Obj32* make_tree(int depth) {
  if (depth == 0) return make<Obj32>();
  Root<Obj32> l(make_tree(depth - 1));
  Root<Obj32> r(make_tree(depth - 1));
  Obj32* n = make<Obj32>();
  n->a = l.get();
  n->b = r.get();
  return n;
}

// This thread's exact allocation counters around a benchmark's loop.
struct AllocMeter {
  std::uint64_t objects = tricolor::allocated_objects(), bytes = tricolor::allocated_bytes();
  void report(benchmark::State& state, bool items = true) const {
    set_alloc_counters(state, tricolor::allocated_objects() - objects, tricolor::allocated_bytes() - bytes, items);
  }
};

void BM_Alloc32(benchmark::State& state) {
  Root<Obj32> live(make_list(kLiveSetObjects));
  const std::uint64_t cycles0 = g_heap->stats().cycles;
  const AllocMeter meter;
  for (auto _ : state) {
    Obj32* p = make<Obj32>();
    benchmark::DoNotOptimize(p);
  }
  meter.report(state);
  const tricolor::Stats st = g_heap->stats();
  state.counters["collections"] = double(st.cycles - cycles0);
  // The heap this process reached so far (the live set is ~200 KB): shows when pacing, not the
  // allocation path, decides the figure (a big heap means fresh pages and cache misses).
  state.counters["heap_peak_MB"] = double(st.heap_peak_bytes) / double(1 << 20);
}
BENCHMARK(BM_Alloc32);

void BM_AllocBuffer32(benchmark::State& state) {
  Root<Obj32> live(make_list(kLiveSetObjects));
  const AllocMeter meter;
  for (auto _ : state) {
    void* p = tricolor::make_buffer(32);
    benchmark::DoNotOptimize(p);
  }
  meter.report(state);
}
BENCHMARK(BM_AllocBuffer32);

// A Root<T> created around an object and destroyed: precise rooting's price per call frame that holds
// one object across an allocation (Boehm pays nothing here: it scans the stack conservatively). The
// heap's reservation check, the push onto the thread's root list, the root window's one-load check
// and the pop. The loop allocates nothing, so no paced cycle runs meanwhile (the window's shade
// happens only between a cycle's barrier round and its root round: gc/write_barrier.cpp, "Root
// part").
void BM_RootScope(benchmark::State& state) {
  Root<Obj32> held(make<Obj32>());
  Obj32* p = held.get();
  const AllocMeter meter;  // a Root allocates nothing: allocs/op shows it
  for (auto _ : state) {
    Root<Obj32> r(p);
    benchmark::DoNotOptimize(r.get());
  }
  meter.report(state);
}
BENCHMARK(BM_RootScope);

// Times stores in batches; with want_marking, only batches that ran wholly while marking was on.
// kViaC: the same stores through the C API's tc_store (include/tricolor/tricolor.h), whose barrier
// is its own inline copy of the C++ one.
template <bool kViaC>
void member_stores(benchmark::State& state, bool want_marking) {
  Root<Table> table(make<Table>());
  Root<Table> targets(make<Table>());
  for (std::size_t i = 0; i < kTableSlots; ++i) targets->slot[i] = make<Obj32>();
  auto marking = [] { return tricolor::internal::g_barrier_active.load(std::memory_order_relaxed); };

  std::atomic<bool> stop{false};
  std::thread collector;
  Root<Obj32> big;
  if (want_marking) {
    big = make_tree(20);  // 2^21 objects of 48 bytes: ~100 MB to mark each cycle
    collector = std::thread([&] {
      while (!stop.load(std::memory_order_relaxed)) g_heap->collect();
    });
  }
  std::uint64_t timed_ns = 0, discarded = 0;
  std::vector<std::uint64_t> batch_ns;  // for the median: a batch preempted by the collector's threads
  batch_ns.reserve(1 << 16);             // moves the mean, not the median
  std::size_t i = 0;
  Table* tab = table.get();  // both tables stay rooted; no allocation below
  Table* tgt = targets.get();
  const AllocMeter meter;  // the stores allocate nothing: allocs/op shows it
  for (auto _ : state) {
    std::uint64_t t0, t1;
    for (;;) {
      while (want_marking && !marking()) tricolor::safepoint();
      t0 = now_ns();
      for (std::size_t k = 0; k < kStoreBatch; ++k, ++i) {
        Member<Obj32>& slot = tab->slot[i & (kTableSlots - 1)];
        Obj32* value = tgt->slot[(i * 7) & (kTableSlots - 1)].get();
        if constexpr (kViaC) tc_store(reinterpret_cast<void**>(slot.slot_for_tracing()), value);
        else slot = value;
      }
      t1 = now_ns();
      const bool still = marking();
      tricolor::safepoint();  // the loop does not allocate: answer the collector's handshakes here
      if (!want_marking || still) break;
      ++discarded;
    }
    timed_ns += t1 - t0;
    batch_ns.push_back(t1 - t0);
    state.SetIterationTime(double(t1 - t0) * 1e-9);
  }
  if (want_marking) {
    stop.store(true);
    {
      tricolor::BlockingScope waiting;
      collector.join();
    }
  }
  state.counters["ns/store"] = double(timed_ns) / double(state.iterations() * kStoreBatch);
  if (!batch_ns.empty()) {
    auto mid = batch_ns.begin() + std::ptrdiff_t(batch_ns.size() / 2);
    std::nth_element(batch_ns.begin(), mid, batch_ns.end());
    state.counters["ns/store_median"] = double(*mid) / double(kStoreBatch);
  }
  state.counters["discarded_batches"] = double(discarded);
  meter.report(state, false);
  state.SetItemsProcessed(state.iterations() * kStoreBatch);
}

void BM_MemberStore_MarkingOff(benchmark::State& state) { member_stores<false>(state, false); }
void BM_MemberStore_MarkingOn(benchmark::State& state) { member_stores<false>(state, true); }
BENCHMARK(BM_MemberStore_MarkingOff)->UseManualTime();
BENCHMARK(BM_MemberStore_MarkingOn)->UseManualTime();
void BM_CStore_MarkingOff(benchmark::State& state) { member_stores<true>(state, false); }
void BM_CStore_MarkingOn(benchmark::State& state) { member_stores<true>(state, true); }
BENCHMARK(BM_CStore_MarkingOff)->UseManualTime();
BENCHMARK(BM_CStore_MarkingOn)->UseManualTime();

}  // namespace

int main(int argc, char** argv) {
  tricolor::Config cfg;
  // Far above what any benchmark here keeps live (~100 MB): a guard, so that a collector bug that
  // stops reclaiming fails this process instead of exhausting the machine.
  cfg.max_heap = std::size_t{2} << 30;
  cfg.apply_env();
  tricolor::Heap heap(cfg);
  g_heap = &heap;
  tricolor::Mutator self(heap, "micro");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
