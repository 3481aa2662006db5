// Shared by micro_tricolor.cpp and micro_boehm.cpp: the store loop's shape and the batch timer, so
// both collectors are measured by the same code around their different stores.
#pragma once
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace bench::micro {

inline constexpr std::size_t kTableSlots = 1024;  // power of two: index with a mask
inline constexpr std::size_t kStoreBatch = 4096;  // stores timed as one batch
inline constexpr std::size_t kLiveSetObjects = 4096;  // the alloc benchmarks' small live set

inline std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
}

// The -benchmem style counters: what the loop allocated per iteration, as the allocator's own
// counters measured it (tricolor::allocated_objects/allocated_bytes: slot bytes, header included;
// Boehm: GC_get_total_bytes), never a number the benchmark assumes.
inline void set_alloc_counters(benchmark::State& state, std::uint64_t objects, std::uint64_t bytes,
                               bool items = true) {
  const double n = state.iterations() > 0 ? double(state.iterations()) : 1.0;
  state.counters["allocs/op"] = double(objects) / n;
  state.counters["bytes/op"] = double(bytes) / n;
  if (items) state.SetItemsProcessed(state.iterations());
}

}  // namespace bench::micro
