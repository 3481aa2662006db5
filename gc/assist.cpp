#include "gc/assist.hpp"

#include <algorithm>

namespace tricolor::internal {

void Assists::charge_and_pay(ThreadState* t, std::size_t bytes, std::size_t heap_live) {
  t->assist_debt += static_cast<std::int64_t>(pacer_.assist_work(bytes, heap_live, marker_.scanned_bytes_so_far()));
  t->assist_debt = std::min(t->assist_debt, kMaxDebt);
  pay(t);
}

// Pays the thread's scan debt in bounded slices: one entry scans at most kSlice bytes, so an
// assist never stalls its thread for long; what is left stays owed and is paid at the next
// allocation slow path (Allocator::small_slow_may_reach_safepoint calls here whenever the thread
// owes a slice: at every window advance, every 64 slots, not only at span refills). The debt is
// capped, so a burst of allocation does not turn into a long run of assists after the markers have
// caught up. Measured on this 2-core machine (binary-trees, depth 19, two threads, probes on, 3 runs
// each): 128 KiB slices paid only at refills gave assist p99 1.3-2.4 ms (the slice itself takes
// about 0.1 ms; on a loaded machine it is often preempted midway); 32 KiB slices paid only at
// refills cut the p99 to 0.15-0.4 ms, but they capped assists at one slice per 32 KiB span, and
// GCBench with two threads then grew to its heap limit and waited there 3x as often.
void Assists::pay(ThreadState* t) {
  if (t->assist_debt < kMinDebt || !t->allocate_black || !t->marking) return;
  if (t->mark.work.local_size() == 0 && marker_.pool().empty()) {
    // Nothing to take now: the markers hold all the grey objects. Ask them to share for the next
    // assist, and do not carry the debt forever.
    marker_.pool().want();
    t->assist_debt = 0;
    return;
  }
  const std::uint64_t t0 = monotonic_ns();
  // acq_rel: the termination check reads this after the pool; work taken from the pool is covered
  // by the count until it is published again.
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
  const std::size_t slice = static_cast<std::size_t>(std::min(t->assist_debt, kSlice));
  const std::size_t done = marker_.drain(t->mark, slice);
  t->assist_debt = done == 0 ? 0 : std::max<std::int64_t>(0, t->assist_debt - static_cast<std::int64_t>(done));
  // The rest of the segment stays with this thread for its next slice while it still owes one and
  // no marker is idle: publishing it and taking it back would cost two shelf locks and a marker
  // wake-up per slice, and an assist that blocks on a shelf whose holder (a marker) is preempted is
  // what made the longest assists. Safe for termination without the in-flight count: work a thread
  // holds is published, and counted as found, when it answers the next flush round, and a slice that
  // scanned anything during a round changes the round's scanned count (gc/collector.cpp).
  if (t->assist_debt < kMinDebt || marker_.pool().hungry()) t->mark.work.publish();
  marker_.merge(t->mark);
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);  // release: the merge above precedes it
  if (done == 0) return;
  recorder_.record(PauseKind::kAssist, t0, monotonic_ns() - t0);
}

}  // namespace tricolor::internal
