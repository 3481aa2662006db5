// Assists (Go's mark assists): a thread that allocates while its heap marks owes scan work in
// proportion (the pacer's schedule, gc/pacer.hpp), and pays it itself, in bounded slices, from the
// allocation slow path. The collector (Collector::note_allocated_may_reach_safepoint, gc/collector_pacing.cpp)
// charges the debt when a thread takes a span or a large object; the allocator (gc/allocator.cpp) pays a slice at every slow path while the thread
// owes one. Neither is a safepoint: an assist only scans.
//
// Termination (gc/collector.cpp) needs to know where grey objects are. An assist in progress holds
// work it took from the pool outside every worklist the markers see: in_flight() counts those, and
// the quiet-round check requires it at 0. Between two slices a thread may keep the rest of what it
// took in its local worklist (pay() says when): that work is published, and counted as found, when
// the thread answers the next flush round, so no in-flight count is needed for it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/stats_recorder.hpp"
#include "gc/thread_state.hpp"

namespace tricolor::internal {

class Assists {
 public:
  Assists(Marker& marker, const Pacer& pacer, StatsRecorder& recorder)
      : marker_(marker), pacer_(pacer), recorder_(recorder) {}
  Assists(const Assists&) = delete;
  Assists& operator=(const Assists&) = delete;

  // A slice scans at most kSlice bytes (about 10-30 us of marking); below kMinDebt owed, the entry
  // cost dominates; the debt is capped at kMaxDebt.
  static constexpr std::int64_t kMinDebt = 16 * 1024;
  static constexpr std::int64_t kSlice = 32 * 1024;
  static constexpr std::int64_t kMaxDebt = 64 * kSlice;
  static_assert(kMinDebt <= kSlice && kSlice <= kMaxDebt);

  // t took `bytes` while marking (it allocates black): charge the pacer's price, then pay a slice.
  void charge_and_pay(ThreadState* t, std::size_t bytes, std::size_t heap_live);
  bool owes(const ThreadState* t) const { return t->assist_debt >= kMinDebt; }
  // One slice, if t owes one and its heap still marks for it.
  void pay(ThreadState* t);

  // Assists holding work taken from the pool. acquire: pairs with the release decrement after an
  // assist's merge (the termination check reads it after the pool).
  int in_flight() const { return in_flight_.load(std::memory_order_acquire); }

 private:
  Marker& marker_;
  const Pacer& pacer_;
  StatsRecorder& recorder_;
  // acq_rel increments and decrements: the decrement releases the assist's merge, and in_flight()'s
  // acquire pairs with it.
  std::atomic<int> in_flight_{0};
};

}  // namespace tricolor::internal
