// The cycle controller: the controller thread, cycle requests and their completion, the cycle's
// phase machine (steps 1-6, argued at the top of gc/collector.cpp), the handshake actions each thread
// performs for it, the cycle's state the rest of the heap reads (marking, the mark and sweep
// generations), and what the allocator's slow paths ask of the cycle: pacing, assists, waiting at the
// limits (gc/collector_pacing.cpp).
// The heap (gc/heap_impl.hpp) owns the parts the cycle drives -- the page heap, the allocator, the
// marker team, the sweeper, the pacer, the safepoints, the roots, the finalizers and the weak
// registry -- and this class drives them; it owns none of them.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "gc/marker.hpp"
#include "gc/safepoint.hpp"
#include "gc/span.hpp"
#include "gc/stats_recorder.hpp"
#include "gc/test_hook.hpp"
#include "gc/thread_state.hpp"
#include "tricolor/heap.hpp"

namespace tricolor::internal {

class HeapImpl;

// Process-wide count of heaps with marking on; g_barrier_active mirrors (count > 0).
void barrier_heap_started();
void barrier_heap_stopped();
// Process-wide count of heaps whose root round is not over; g_root_barrier_active mirrors (count > 0).
void root_window_started();
void root_window_ended();

// Weak references, ephemerons and pools the markers recorded during a cycle (collected across
// termination restarts), processed at termination (gc/weak_refs.cpp).
struct WeakWork {
  std::vector<WeakSlot*> slots;
  std::vector<Ephemeron> ephemerons;
};

class Collector {
 public:
  // The heap's parts must be constructed; the controller thread starts in start().
  explicit Collector(HeapImpl& h);
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  void start();
  // Ends the controller thread (after the cycle in progress, if any). Idempotent.
  void stop();

  // --- requests (collector.cpp)
  // Blocks until a full cycle that started after this call has completed and every span is swept.
  void collect();
  void request_cycle();
  // acquire: pairs with the controller's release increment after the cycle.
  std::uint64_t cycles_completed() const { return completed_.load(std::memory_order_acquire); }

  // --- the handshake actions (gc/safepoint.hpp's kAction*), run by each thread or on its behalf
  void perform(ThreadState* t, std::uint32_t actions, bool on_behalf);

  // --- the cycle's state, read by the rest of the heap
  // acquire: pairs with the acq_rel flip at the end of marking, so a thread that sees the new
  // generation sees the spans' sweep_gen values and the lists the flip made unswept.
  std::uint32_t sweep_gen() const { return sweep_gen_.load(std::memory_order_acquire); }
  // This heap marks; see marking_. attach() reads it under threads_mu; the root set holds a reference.
  const std::atomic<bool>& marking() const { return marking_; }
  // A span this thread takes for its cache or a large object is born black (its free slots
  // pre-marked) iff the span is of the marking's generation and either the thread's roots are
  // scanned (it allocates black) or every thread's barrier is on (the barrier round is over).
  bool pre_mark(const ThreadState* t, const Span* s) const {
    // acquire: see barriers_all_on_. relaxed (the two generations): the span is this thread's (its
    // generation is stable), and mark_gen_'s comment.
    const bool black = t->allocate_black || barriers_all_on_.load(std::memory_order_acquire);
    return black && s->sweep_gen.load(std::memory_order_relaxed) == mark_gen_.load(std::memory_order_relaxed);
  }

  // --- what the allocator (gc/allocator.hpp) asks of the cycle (collector_pacing.cpp)
  // bytes were taken for t (null: by no thread): the pacer's input. May start a cycle, make t assist
  // (bounded slices), or make it wait for the cycle at twice the goal when no hard limit is set.
  void note_allocated_may_reach_safepoint(ThreadState* t, std::size_t bytes);
  // At the hard limit (an allocation found no memory within Config::max_heap); reaches a safepoint.
  // `done` starts empty for each allocation and records what was tried; false: nothing is left.
  // The stages: the cycles in flight (up to kMaxCycleWaits of them), the rest of the sweep (with no
  // cycle in flight), a full collection (collector_pacing.cpp).
  struct HeapLimitRelief {
    unsigned cycles_waited = 0;
    bool swept = false;
    bool collected = false;
  };
  static constexpr unsigned kMaxCycleWaits = 3;
  bool relieve_heap_limit_may_reach_safepoint(ThreadState* t, HeapLimitRelief& done);
  // relaxed: an estimate for the pacer and stats; each counter is exact, their sum may mix moments.
  std::size_t heap_live() const;

  // --- counters and hooks for tests (gc/testing.hpp) and reports
  // relaxed: counters for tests and stats; nothing is read through them.
  std::uint64_t heap_limit_waits() const { return heap_limit_waits_.load(std::memory_order_relaxed); }
  std::uint64_t heap_limit_sweeps() const { return heap_limit_sweeps_.load(std::memory_order_relaxed); }
  std::uint64_t heap_limit_collections() const { return heap_limit_collections_.load(std::memory_order_relaxed); }
  // Terminations (5b's stop, or 5a's extra round) that found late shades and resumed concurrent
  // marking (tests, gctrace).
  std::uint64_t mark_termination_restarts() const { return mark_termination_restarts_.load(std::memory_order_relaxed); }
  void wait_for_heap_limit_waiter() {
    for (std::uint32_t n; (n = heap_limit_waiters_.load()) == 0;) heap_limit_waiters_.wait(n);
  }
  // A mutator starts a heap-limit wait; the controller ends step 4.
  void set_heap_limit_wait_hook(TestHook::Fn fn, void* ctx) { heap_limit_wait_hook_.set(fn, ctx); }
  void set_before_termination_hook(TestHook::Fn fn, void* ctx) { before_termination_hook_.set(fn, ctx); }
  void set_after_weak_check_hook(TestHook::Fn fn, void* ctx) { after_weak_check_hook_.set(fn, ctx); }

 private:
  void controller_main();
  void run_cycle();
  void run_cycle_concurrent();
  void run_cycle_stop_the_world();
  // Step 4: concurrent marking and flush rounds until a round finds nothing. Returns the markers'
  // scanned-bytes count of that quiet round (unchanged through it).
  std::size_t concurrent_mark_until_quiet();
  // One flush round (kActionFlush); true if it was quiet: it found no grey object, and at its end
  // the markers are quiescent, no assist holds work, and the scanned-bytes count still equals
  // scanned_before (read before the round, or at the end of an earlier quiet round: then nothing
  // was scanned since that round either).
  bool flush_round_quiet(std::size_t scanned_before);
  // Step 5a: whether termination has weak work to do with the world stopped (then 5b, else 5c).
  bool termination_needs_stop(WeakWork& weak);
  // Step 5b: the termination stop. False when it found late shades and resumed concurrent marking.
  bool try_mark_termination(std::uint64_t mark_start, std::size_t heap_before, WeakWork& weak);
  void finish_marking_stopped(std::uint64_t mark_start, std::size_t heap_before,
                              PauseKind pause, std::uint64_t pause_start, WeakWork& weak);
  // Step 5c: ragged termination, two handshake rounds around the sweep flip and no global stop.
  void finish_marking_ragged(std::uint64_t mark_start, std::size_t heap_before);
  // The end of marking shared by 5b and 5c: pacing, the sweep flip, the trace line. threads_mu held;
  // every thread's barrier is off (5c) or the world is stopped (5b).
  void end_marking_and_flip();
  void report_cycle(std::uint64_t mark_start, std::uint64_t heap_before, std::uint64_t pause_start, std::uint64_t end,
                    bool concurrent);
  void finish_sweep();
  void emit(Phase p);
  // Waits until cycle `target` is complete (or the heap shuts down): the caller is blocked already
  // (_blocked), or waits as a blocked thread (t: the calling thread, attached to this heap, or null).
  void wait_for_completion_blocked(std::uint64_t target);
  void wait_for_completion(ThreadState* t, std::uint64_t target);
  // Waits as a blocked thread until cycle `target` is complete and every span is swept.
  void await_cycle(std::uint64_t target);
  // Waits, as a blocked thread, for the cycle in flight (or the one it requests) at twice the goal.
  void wait_for_cycle(ThreadState* t);

  HeapImpl& h_;

  std::atomic<std::uint32_t> sweep_gen_{2};
  // This heap marks. relaxed everywhere: the controller's stores and attach()'s load hold threads_mu,
  // which orders them; the one other reader, RootSet::unregister_global (under the root set's lock
  // only), argues its case where it reads (gc/root_set.cpp).
  std::atomic<bool> marking_{false};
  // The sweep generation the current (or last) marking runs in: a span is pre-marked for
  // allocate-black only if it is of this generation (pre_mark()). Spans born after the flip are of a
  // newer one and stay white, whatever a thread that has not answered the flip round believes.
  // relaxed: stored at mark start under threads_mu, before any thread allocates black (each learns
  // it is to through the root round's handshake, or attach() under threads_mu), constant until the
  // next mark start.
  std::atomic<std::uint32_t> mark_gen_{0};
  // Every attached thread's barrier is on: set when the barrier round ends (step 2), cleared at the
  // flip. From then on an object may be born black even on a thread whose roots are not scanned yet
  // (gc/write_barrier.cpp: "no object black before the barrier round ends" is the whole rule), so
  // the spans such a thread takes are pre-marked and what it allocates until its root scan is not
  // shaded by the insertion half and scanned, as it was when allocation stayed white until then.
  // release/acquire (pre_mark): a thread that sees true and allocates an object black follows, in
  // happens-before, every thread's answer to the barrier round, so any thread that stores into that
  // object does so with its barrier on (and sees mark_gen_, stored before the round). Cleared before
  // the termination's second round (or inside the stop) and read by every thread after its answer
  // to it: the next cycle's barrier round never sees a stale true.
  std::atomic<bool> barriers_all_on_{false};

  // Bytes allocated since the heap began: a statistic and the pacer's input. relaxed: nothing is
  // published through it (a trigger seen one allocation late starts the cycle one allocation late).
  std::atomic<std::size_t> allocated_total_{0};
  // allocated_total_ at the last termination, for heap_live(). relaxed: written at termination, read
  // as a pacing input like allocated_total_.
  std::atomic<std::size_t> allocated_at_termination_{0};
  std::size_t allocated_at_mark_start_ = 0;  // controller thread only
  // A cycle was requested since the last termination. relaxed: a hint that saves request_cycle()'s
  // lock; requested_ (under ctl_mu_) decides.
  std::atomic<bool> cycle_requested_{false};
  // When the paced request that set cycle_requested_ was made (0: none since the controller last
  // took it), and allocated_total_ then: the trace line's trigger lag. Written by the requesting
  // thread before it takes ctl_mu_ (request_cycle) and taken by the controller under ctl_mu_ when
  // it starts the next cycle, so relaxed is enough: the mutex orders the two. A stamp that a request
  // made while the controller was not looking at the lock overwrites is only a trace figure.
  std::atomic<std::uint64_t> requested_at_ns_{0};
  std::atomic<std::size_t> allocated_at_request_{0};
  // Grey objects found by the threads answering a flush round. relaxed: written by each answer and
  // read by the controller after the round, whose completion (the handshake's release/acquire pair,
  // gc/safepoint.cpp) orders every answer before the read.
  std::atomic<std::size_t> flush_found_{0};
  std::uint64_t cycle_start_mark_ = 0;  // controller thread only
  // Phase timestamps of the current cycle, for TRICOLOR_GCTRACE (controller thread only).
  struct CycleTrace {
    std::uint64_t cycle_start = 0, start_stop = 0, start_pause = 0, stopped = 0, drained = 0, weak = 0, flipped = 0;
    std::size_t heap_at_end = 0;
    std::uint64_t requested_at = 0;        // the paced request this cycle answers (0: none)
    std::size_t allocated_at_request = 0;  // allocated_total_ at that request
    unsigned restarts = 0;
    Safepoint::RoundTotals rounds_at_start;  // read under threads_mu, at the cycle's start
    TraceLine::Cause cause = TraceLine::Cause::kPaced;
  } trace_;
  // Set by collect() (explicit and emergency collections), taken by the controller when a cycle
  // starts, so that the trace line marks the cycle forced. relaxed: it only labels the trace line.
  std::atomic<bool> forced_{false};
  // relaxed: a counter for tests and reports.
  std::atomic<std::uint64_t> mark_termination_restarts_{0};
  // Test hooks (gc/testing.hpp): the controller between step 4's last quiet round and step 5; after
  // 5a chose the ragged way, before the extra round; a mutator about to wait at the hard limit.
  TestHook before_termination_hook_;
  TestHook after_weak_check_hook_;
  TestHook heap_limit_wait_hook_;

  std::thread controller_;
  std::mutex ctl_mu_;
  std::condition_variable ctl_cv_;
  std::uint64_t requested_ = 0;  // guarded by ctl_mu_
  bool shutdown_ = false;        // guarded by ctl_mu_
  // Cycles started and completed. Both change only under ctl_mu_. relaxed: reads under ctl_mu_ are
  // exact and reads outside it only label or estimate; the one reader that needs a cycle's results
  // without the lock uses acquire, pairing with the controller's release increment of completed_.
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  // Threads waiting at the hard limit for a cycle in flight (tests: gc/testing.hpp). seq_cst: a test
  // waits on it; nothing else reads it.
  std::atomic<std::uint32_t> heap_limit_waiters_{0};
  // Reliefs done (relieve_heap_limit_may_reach_safepoint): waits for a cycle in flight, sweeps
  // finished, full collections. relaxed: counters for tests and reports.
  std::atomic<std::uint64_t> heap_limit_waits_{0};
  std::atomic<std::uint64_t> heap_limit_sweeps_{0};
  std::atomic<std::uint64_t> heap_limit_collections_{0};
  // The controller's own marking context: heap callbacks, pending shades, weak processing.
  MarkContext controller_cx_;
};

}  // namespace tricolor::internal
