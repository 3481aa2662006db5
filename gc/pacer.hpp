// The pacer (Go's GOGC / GOMEMLIMIT model, simplified).
//
//   goal    = live_after_last_mark * (1 + gc_percent/100), at least initial_heap, and no higher than
//             the soft limit — but never below live * 1.25, so that near the soft limit collections
//             come at most every quarter of live allocated (bounding the collector's CPU share near
//             50% instead of letting it death-spiral).
//   trigger = goal - runway, where runway is what mutators allocated during recent mark phases
//             (so marking ends near the goal), clamped to [live + 35%, live + 95%] of (goal - live).
//   assists: only for the work the background markers are behind on. The schedule: by the time the
//             heap has grown a fraction f of the way from trigger to goal, f of the expected scan
//             work (the last cycle's live heap) should be done. While scanning is at or ahead of the
//             schedule nobody assists (Go gets the same effect from the background markers' scan
//             credit). Behind it, a thread that takes a span of n bytes owes
//             n * remaining_scan_work / max(goal - heap_live, 1 MiB) bytes of scan work, capped at
//             the deficit, so the mutator pays its way back onto the schedule and no further.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "tricolor/config.hpp"

namespace tricolor::internal {

class Pacer {
 public:
  explicit Pacer(const Config& c);

  std::size_t trigger() const { return trigger_.load(std::memory_order_relaxed); }
  std::size_t goal() const { return goal_.load(std::memory_order_relaxed); }
  std::size_t last_live() const { return live_.load(std::memory_order_relaxed); }

  // At mark termination: live bytes marked, and bytes allocated while marking ran.
  void end_cycle(std::size_t live_bytes, std::size_t allocated_during_mark);

  // Scan work owed for taking `bytes` while marking, given the heap's state.
  std::size_t assist_work(std::size_t bytes, std::size_t heap_live, std::size_t scanned_so_far) const;

  // Run-time knobs (Heap::set_gc_percent / set_soft_limit): any thread, any time; the goal and the
  // trigger are recomputed at once from the last live heap. Return the previous value.
  int set_gc_percent(int percent);
  std::size_t set_soft_limit(std::size_t bytes);

 private:
  void recompute(std::size_t live);  // mu_ held

  // Guards the inputs below and the recomputation: end_cycle (controller) and the knobs (any thread).
  // Readers of goal/trigger/live do not take it: they read the atomics.
  std::mutex mu_;
  int gc_percent_;
  std::size_t initial_;
  std::size_t soft_limit_;      // effective: the embedder's, capped under the hard limit
  std::size_t user_soft_limit_; // as set (0: none)
  std::size_t max_heap_;
  double runway_ = 0;
  // relaxed (all uses): written only under mu_ (recompute), which orders the writers and the reads
  // inside it. The lock-free readers (allocation paths, assists, stats) use each as a pacing number
  // and read no data through it; one that pairs a goal and a trigger of different recomputations gets
  // a schedule a moment off, and assist_work() allows goal <= trigger.
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> goal_{0};
  std::atomic<std::size_t> trigger_{0};
};

}  // namespace tricolor::internal
