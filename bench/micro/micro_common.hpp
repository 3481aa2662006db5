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

// The -benchmem style counters every allocation benchmark reports.
inline void set_alloc_counters(benchmark::State& state, std::size_t payload_bytes) {
  state.counters["allocs/op"] = benchmark::Counter(1);
  state.counters["bytes/op"] = benchmark::Counter(double(payload_bytes));
  state.SetItemsProcessed(state.iterations());
}

}  // namespace bench::micro
