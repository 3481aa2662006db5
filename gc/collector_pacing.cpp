// What the allocator's slow paths (gc/allocator.cpp) ask of the cycle: the pacer's input (bytes
// allocated, the live-heap estimate), starting a cycle at the trigger, charging assists
// (gc/assist.hpp), and the two waits for a cycle -- at twice the goal when no hard limit is set, and
// the relief at the hard limit. Every entry here may reach a safepoint.
#include "gc/collector.hpp"

#include <algorithm>

#include "gc/collector_work.hpp"
#include "gc/heap_impl.hpp"

namespace tricolor::internal {

std::size_t Collector::heap_live() const {
  return h_.pacer.last_live() + (allocated_total_.load(std::memory_order_relaxed) -
                                 allocated_at_termination_.load(std::memory_order_relaxed));
}

void Collector::note_allocated_may_reach_safepoint(ThreadState* t, std::size_t bytes) {
  // relaxed: a statistic and a trigger input; nothing is published through it, and a trigger seen
  // one allocation late only starts the cycle one allocation late.
  allocated_total_.fetch_add(bytes, std::memory_order_relaxed);
  const std::size_t live = heap_live();
  // relaxed: a hint that saves request_cycle()'s exchange; the exchange decides.
  if (!cycle_requested_.load(std::memory_order_relaxed) && live >= h_.pacer.trigger()) request_cycle();
  if (t == nullptr) return;
  // Not before this thread's root scan: until the barrier round is over, scanning an object would
  // make it black while another thread may still store into it without a barrier.
  // (Nor after its termination round: t->marking is off from then on, and nothing is grey.)
  if (t->allocate_black && t->marking) h_.assists.charge_and_pay(t, bytes, heap_live());
  // With a hard limit, a mutator waits for the collector only at the limit itself
  // (relieve_heap_limit_may_reach_safepoint): below it the heap may run past its goal while
  // bounded assists catch up, as Go's does. Without one, nothing else bounds a heap whose
  // allocator outruns marking (every grey object in a marker's hands, so assists find no work):
  // at twice the goal the mutator waits for the cycle, recorded as its own pause kind so reports
  // do not mistake it for an assist. (A wait at 1.5x the goal, under a limit too, was measured: up
  // to 17 waits of 2-5 ms per GCBench run, while the heap never reached the limit without them.)
  if (h_.config.max_heap != 0) return;
  const std::size_t goal = h_.pacer.goal();
  if (goal >= SIZE_MAX / 4) return;
  if (live > 2 * goal + (std::size_t{4} << 20)) [[unlikely]]
    wait_for_cycle(t);
}

// Reaches a safepoint (enters a blocking scope while it waits).
void Collector::wait_for_cycle(ThreadState* t) {
  request_cycle();
  std::uint64_t target;
  {
    std::lock_guard lock(ctl_mu_);
    // relaxed: started_ changes only under ctl_mu_, held here.
    target = std::max(requested_, started_.load(std::memory_order_relaxed));
  }
  // acquire: pairs with the controller's release increment, so the cycle's results are visible.
  if (completed_.load(std::memory_order_acquire) >= target) return;
  heap_limit_wait_hook_.fire();
  const std::uint64_t t0 = monotonic_ns();
  wait_for_completion(t, target);
  h_.recorder.record(PauseKind::kHeapLimitWait, t0, monotonic_ns() - t0);
}

// At the hard limit, in stages, each recorded as a heap-limit wait; the allocation is retried after
// each, and its own slow path sweeps (Sweeper::sweep_for_allocation, sweep_ahead):
//  1. a cycle in flight: its end, waited for as a blocked thread. It frees what was garbage at its
//     start, usually enough, in a fraction of the time a new full collection takes after it
//     (Heap::collect() must wait for a cycle that starts after the call). Not its whole sweep: the
//     retry sweeps as it allocates, a span at a time, which is all the allocation needs; finishing
//     the sweep first made the wait several milliseconds longer on GCBench with two threads.
//     If that was not enough and another cycle is in flight (it started after the one waited for
//     ended: with the heap past its trigger the pacer starts one at once), its end too, up to
//     kMaxCycleWaits cycles: each frees what was allocated (black) while the one before ran, and a
//     full collection would wait for it and then a whole new cycle (on GCBench with two threads
//     those collections averaged 6.8 ms, up to 24 ms);
//  2. with no cycle in flight, the rest of the sweep (or, if nothing is unswept, one more retry). On
//     this running thread, not as a blocked one: with no cycle in flight the last one's round 2 is
//     over, so every span its flip counted is in a central list or in the hands of a sweeper that
//     needs nothing from us, and no new cycle can flip while we sweep (its first round waits for our
//     answer), so finish() ends without waiting for anything of ours;
//  3. one full collection, then the allocation fails if it still does not fit. Every stage before it
//     is bounded, so an allocation that cannot fit fails after kMaxCycleWaits + 2 stages at most.
// The thread's allocation windows are parked meanwhile: the sweep may run destructors here
// (gc/collector_work.hpp).
bool Collector::relieve_heap_limit_may_reach_safepoint(ThreadState* t, HeapLimitRelief& done) {
  if (done.collected) return false;
  std::uint64_t in_flight = 0;
  {
    std::lock_guard lock(ctl_mu_);
    const std::uint64_t started = started_.load(std::memory_order_relaxed);
    if (completed_.load(std::memory_order_relaxed) < started) in_flight = started;
  }
  const bool wait = in_flight != 0 && done.cycles_waited < kMaxCycleWaits;
  const bool sweep = !wait && in_flight == 0 && !done.swept;
  if (sweep && h_.sweeper.unswept() == 0) {
    // Nothing left to sweep (another sweeper may have just swept what the retry missed): one more
    // retry before a collection, with nothing to wait for and nothing to record.
    done.swept = true;
    return true;
  }
  park_allocation(t);
  heap_limit_wait_hook_.fire();
  const std::uint64_t t0 = monotonic_ns();
  if (wait) {
    ++done.cycles_waited;
    heap_limit_waiters_.fetch_add(1);
    heap_limit_waiters_.notify_all();
    wait_for_completion(t, in_flight);
    heap_limit_waiters_.fetch_sub(1);
  } else if (sweep) {
    done.swept = true;
    h_.sweeper.finish(sweep_gen());
  } else {
    done.collected = true;
    collect();
  }
  h_.recorder.record(PauseKind::kHeapLimitWait, t0, monotonic_ns() - t0);
  // relaxed: counters for tests and reports.
  (wait ? heap_limit_waits_ : sweep ? heap_limit_sweeps_ : heap_limit_collections_).fetch_add(1, std::memory_order_relaxed);
  unpark_allocation(t);
  return true;
}

}  // namespace tricolor::internal
