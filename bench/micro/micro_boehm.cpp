// Micro benchmarks on Boehm, the counterparts of micro_tricolor.cpp: GC_MALLOC(32) and
// GC_MALLOC_ATOMIC(32) with the same small live set, and a plain pointer store (Boehm's default
// configuration has no write barrier; its stores cost what a C store costs, which is the baseline
// tricolor's barrier is measured against).
#define GC_THREADS 1
#include <gc.h>

#include "micro_common.hpp"

namespace {

using namespace bench::micro;

struct Obj32 {
  Obj32* a;
  Obj32* b;
  std::uint64_t x, y;
};
static_assert(sizeof(Obj32) == 32);

struct Table {
  Obj32* slot[kTableSlots];
};

Obj32* make_list(std::size_t n) {
  Obj32* head = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    auto* o = static_cast<Obj32*>(GC_MALLOC(sizeof(Obj32)));
    o->a = head;
    head = o;
  }
  return head;
}

void BM_Alloc32(benchmark::State& state) {
  Obj32* volatile live = make_list(kLiveSetObjects);
  const GC_word gc0 = GC_get_gc_no();
  const std::size_t bytes0 = GC_get_total_bytes();
  std::uint64_t calls = 0;  // Boehm counts bytes only: objects are the calls made
  for (auto _ : state) {
    void* p = GC_MALLOC(sizeof(Obj32));
    benchmark::DoNotOptimize(p);
    ++calls;
  }
  set_alloc_counters(state, calls, GC_get_total_bytes() - bytes0);
  state.counters["collections"] = double(GC_get_gc_no() - gc0);
  state.counters["heap_peak_MB"] = double(GC_get_heap_size()) / double(1 << 20);
  benchmark::DoNotOptimize(live);
}
BENCHMARK(BM_Alloc32);

void BM_AllocBuffer32(benchmark::State& state) {
  Obj32* volatile live = make_list(kLiveSetObjects);
  const std::size_t bytes0 = GC_get_total_bytes();
  std::uint64_t calls = 0;
  for (auto _ : state) {
    void* p = GC_MALLOC_ATOMIC(32);
    benchmark::DoNotOptimize(p);
    ++calls;
  }
  set_alloc_counters(state, calls, GC_get_total_bytes() - bytes0);
  benchmark::DoNotOptimize(live);
}
BENCHMARK(BM_AllocBuffer32);

void BM_PointerStore(benchmark::State& state) {
  auto* tab = static_cast<Table*>(GC_MALLOC(sizeof(Table)));
  auto* tgt = static_cast<Table*>(GC_MALLOC(sizeof(Table)));
  for (std::size_t i = 0; i < kTableSlots; ++i) tgt->slot[i] = static_cast<Obj32*>(GC_MALLOC(sizeof(Obj32)));
  std::uint64_t timed_ns = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    for (std::size_t k = 0; k < kStoreBatch; ++k, ++i) {
      tab->slot[i & (kTableSlots - 1)] = tgt->slot[(i * 7) & (kTableSlots - 1)];
      // Without this the compiler sees through the loop and keeps only the last stores.
      benchmark::ClobberMemory();
    }
    const std::uint64_t t1 = now_ns();
    timed_ns += t1 - t0;
    state.SetIterationTime(double(t1 - t0) * 1e-9);
  }
  state.counters["ns/store"] = double(timed_ns) / double(state.iterations() * kStoreBatch);
  state.SetItemsProcessed(state.iterations() * kStoreBatch);
}
BENCHMARK(BM_PointerStore)->UseManualTime();

}  // namespace

int main(int argc, char** argv) {
  GC_INIT();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
