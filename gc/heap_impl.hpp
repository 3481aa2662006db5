// The heap: owns the page heap, the allocator (central lists and slow paths, gc/allocator.hpp), the
// marker team, the sweeper, the pacer, the thread registry (safepoints), the roots, the finalizers
// and the weak registry; runs the collector's controller thread.
// Methods are defined by concept: threads, running finalizers and the allocator's calls into the
// cycle (pacing, heap-limit relief) in heap_impl.cpp, the cycle in collector.cpp, root scanning in
// roots.cpp, weak processing in weak_refs.cpp, the write barrier in write_barrier.cpp, verification
// in verifier.cpp. Parts that need no more of the heap than what they are given are classes of
// their own, which the heap holds and the collector drives: the allocator (Allocator,
// gc/allocator.hpp), assists (Assists, gc/assist.hpp), the Globals and heap root callbacks (RootSet,
// gc/root_set.hpp), the registered and ready finalizers (FinalizerQueue, gc/finalizer_queue.hpp),
// the weak callbacks and pools (WeakRegistry, gc/weak_registry.hpp).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "gc/allocator.hpp"
#include "gc/assist.hpp"
#include "gc/central_list.hpp"
#include "gc/finalizer_queue.hpp"
#include "gc/heap_observer.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/page_heap.hpp"
#include "gc/root_set.hpp"
#include "gc/safepoint.hpp"
#include "gc/stats_recorder.hpp"
#include "gc/sweeper.hpp"
#include "gc/test_hook.hpp"
#include "gc/thread_state.hpp"
#include "gc/weak_registry.hpp"
#include "tricolor/heap.hpp"
#include "tricolor/roots.hpp"
#include "tricolor/weak.hpp"

namespace tricolor::internal {

// Process-wide count of heaps with marking on; g_barrier_active mirrors (count > 0).
void barrier_heap_started();
void barrier_heap_stopped();

// Config::marker_threads and the other values a heap cannot be built with stop the program here,
// naming the field (gc/api.cpp).
const Config& checked_config(const Config& c);

class HeapImpl {
 public:
  // make_observer, if given, creates the tools plugged into this heap (gc/heap_observer.hpp); it
  // runs once, in the constructor, before any thread attaches.
  using ObserverFactory = std::function<std::unique_ptr<HeapObserver>(HeapImpl&)>;
  explicit HeapImpl(const Config& c, const ObserverFactory& make_observer = {});
  ~HeapImpl();
  HeapImpl(const HeapImpl&) = delete;
  HeapImpl& operator=(const HeapImpl&) = delete;

  // --- threads (heap_impl.cpp)
  ThreadState* attach(const char* name);
  void detach(ThreadState* t);

  // --- what the allocator (gc/allocator.hpp) asks of the cycle (heap_impl.cpp)
  // A span this thread takes for its cache or a large object is born black (its free slots
  // pre-marked) iff the thread allocates black and the span is of the marking's generation.
  bool pre_mark(const ThreadState* t, const Span* s) const {
    // relaxed (both): the span is this thread's (its generation is stable), and mark_gen_'s comment.
    return t->allocate_black && s->sweep_gen.load(std::memory_order_relaxed) == mark_gen_.load(std::memory_order_relaxed);
  }
  // bytes were taken for t (null: by no thread): the pacer's input. May start a cycle, make t assist
  // (bounded slices), or make it wait for the cycle at twice the goal when no hard limit is set.
  void note_allocated_may_reach_safepoint(ThreadState* t, std::size_t bytes);
  // At the hard limit (an allocation found no memory within Config::max_heap); reaches a safepoint.
  // `done` starts at kNone for each allocation and records what was tried; false: nothing is left.
  enum class HeapLimitRelief { kNone, kWaitedForCycle, kCollected };
  bool relieve_heap_limit_may_reach_safepoint(ThreadState* t, HeapLimitRelief& done);
  // relaxed: an estimate for the pacer and stats; each counter is exact, their sum may mix moments.
  std::size_t heap_live() const {
    return pacer.last_live() + (allocated_total_.load(std::memory_order_relaxed) -
                                allocated_at_termination_.load(std::memory_order_relaxed));
  }

  // --- the cycle (collector.cpp)
  // Blocks until a full cycle that started after this call has completed and every span is swept.
  void collect();
  void request_cycle();
  void perform(ThreadState* t, std::uint32_t actions, bool on_behalf);
  // relaxed: counters for tests and stats; nothing is read through them.
  std::uint64_t heap_limit_waits() const { return heap_limit_waits_.load(std::memory_order_relaxed); }
  std::uint64_t heap_limit_collections() const { return heap_limit_collections_.load(std::memory_order_relaxed); }
  void wait_for_heap_limit_waiter() {
    for (std::uint32_t n; (n = heap_limit_waiters_.load()) == 0;) heap_limit_waiters_.wait(n);
  }
  // acquire: pairs with the controller's release increment after the cycle (gc/collector.cpp).
  std::uint64_t cycles_completed() const { return completed_.load(std::memory_order_acquire); }
  // acquire: pairs with the acq_rel flip at the end of marking, so a thread that sees the new
  // generation sees the spans' sweep_gen values and the lists the flip made unswept.
  std::uint32_t sweep_gen() const { return sweep_gen_.load(std::memory_order_acquire); }
  // Test hooks (gc/testing.hpp): a mutator starts a heap-limit wait; the controller ends step 4.
  void set_heap_limit_wait_hook(TestHook::Fn fn, void* ctx) { heap_limit_wait_hook_.set(fn, ctx); }
  void set_before_termination_hook(TestHook::Fn fn, void* ctx) { before_termination_hook_.set(fn, ctx); }
  // Termination stops that found late shades and resumed concurrent marking (tests, gctrace).
  std::uint64_t mark_termination_restarts() const { return mark_termination_restarts_.load(std::memory_order_relaxed); }

  // --- roots: the registry (gc/root_set.hpp) and its scanning (roots.cpp)
  RootSet& roots() { return roots_; }
  void scan_thread_roots(ThreadState* t, MarkContext& cx);
  void scan_globals(MarkContext& cx);
  void scan_heap_callbacks(MarkContext& cx);
  // Shades the targets of Globals destroyed during marking (queued by RootSet::unregister_global).
  bool drain_pending_shades(MarkContext& cx);

  // --- write barrier (write_barrier.cpp)
  // Marks what the thread's barrier buffer holds and publishes the grey objects; returns how many
  // objects it made grey (including the thread's unpublished local work).
  std::size_t flush_barrier(ThreadState* t);


  bool contains(const void* p) const;
  Stats stats() const;

  Config config;
  PageHeap pages;
  Marker marker;
  Pacer pacer;
  Safepoint safepoint;
  Sweeper sweeper;
  StatsRecorder recorder;
  Assists assists{marker, pacer, recorder};  // gc/assist.hpp
  Allocator allocator;

  // --- the observer (gc/heap_observer.hpp): null, or the tools plugged in at construction.
  HeapObserver* observer() const { return observer_.get(); }
  // Constant for the heap's life: read with no ordering by every thread.
  bool observes_allocations() const { return interests_.allocations; }
  bool observes_deaths() const { return interests_.deaths; }

  // --- stop-the-world for the tools (gc/safepoint.hpp, Safepoint::with_world_stopped): runs f with
  // every mutator stopped; the calling thread, if attached here, counts as blocked meanwhile.
  void with_world_stopped(const std::function<void()>& f);

 private:
  // Declared after the sweeper: destroyed before it, once ~HeapImpl has swept for the last time.
  std::unique_ptr<HeapObserver> observer_;
  // The observer's answer, asked once (gc/heap_observer.hpp); none without an observer.
  const HeapObserver::Interests interests_;

  void controller_main();
  void run_cycle();
  void run_cycle_concurrent();
  void run_cycle_stop_the_world();
  // Step 4 of gc/collector.cpp: concurrent marking and flush rounds until a round finds nothing.
  void concurrent_mark_until_quiet();
  // Weak references, ephemerons and pools the markers recorded (collected across restarts).
  struct WeakWork {
    std::vector<WeakSlot*> slots;
    std::vector<Ephemeron> ephemerons;
  };
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
  // World stopped, after marking: no worklist, pool or barrier buffer holds a grey object (checks).
  bool no_grey_objects();
  // Before marking (sweep finished): every span in a central list has all its mark bits clear, so no
  // object of the new cycle starts out black (a span a cache held across the flip and gave back as
  // swept would not). A walk: TC_DCHECK_SLOW.
  bool central_mark_bits_clear();
  void emit(Phase p);
  // Waits, as a blocked thread, until cycle `target` is complete, then finishes its sweep.
  void await_cycle(std::uint64_t target);
  void process_weak_references(WeakWork& weak);
  void wait_for_cycle(ThreadState* t);

  std::atomic<std::uint32_t> sweep_gen_{2};
  // This heap marks. relaxed everywhere: the controller's stores and attach()'s load hold threads_mu,
  // which orders them; the one other reader, RootSet::unregister_global (under the root set's lock
  // only), argues its case where it reads (gc/root_set.cpp).
  std::atomic<bool> marking_{false};
  // Globals, heap-wide root callbacks, pending shades, and their lock. After marking_, which it reads.
  RootSet roots_{marking_};
  // Registered and ready finalizers, and their lock; set_finalizer accepts this heap's objects only.
  FinalizerQueue finalizers_{[this](const void* p) { return contains(p); }};
  // Weak callbacks and pools, each list with its lock.
  WeakRegistry weak_registry_;
  // The sweep generation the current (or last) marking runs in: a span is pre-marked for
  // allocate-black only if it is of this generation (pre_mark()). Spans born after the flip are of a
  // newer one and stay white, whatever a thread that has not answered the flip round believes.
  // relaxed: stored at mark start under threads_mu, before any thread allocates black (each learns
  // it is to through the root round's handshake, or attach() under threads_mu), constant until the
  // next mark start.
  std::atomic<std::uint32_t> mark_gen_{0};

  // Bytes allocated since the heap began: a statistic and the pacer's input. relaxed: nothing is
  // published through it (a trigger seen one allocation late starts the cycle one allocation late).
  std::atomic<std::size_t> allocated_total_{0};
  // allocated_total_ at the last termination, for heap_live(). relaxed: written in the termination
  // stop, read as a pacing input like allocated_total_.
  std::atomic<std::size_t> allocated_at_termination_{0};
  std::size_t allocated_at_mark_start_ = 0;
  // A cycle was requested since the last termination. relaxed: a hint that saves request_cycle()'s
  // lock; requested_ (under ctl_mu_) decides.
  std::atomic<bool> cycle_requested_{false};
  // Grey objects found by the threads answering a flush round. relaxed: written by each answer and
  // read by the controller after the round, whose completion (the handshake's release/acquire pair,
  // gc/safepoint.cpp) orders every answer before the read.
  std::atomic<std::size_t> flush_found_{0};
  std::uint64_t cycle_start_mark_ = 0;  // controller thread only
  // Phase timestamps of the current cycle, for TRICOLOR_GCTRACE (controller thread only).
  struct CycleTrace {
    std::uint64_t cycle_start = 0, start_stop = 0, start_pause = 0, stopped = 0, drained = 0, weak = 0, flipped = 0;
    std::size_t heap_at_end = 0;
    unsigned restarts = 0;
    Safepoint::RoundTotals rounds_at_start;  // read under threads_mu, at the cycle's start
    TraceLine::Cause cause = TraceLine::Cause::kPaced;
  } trace_;
  // Set by collect() (explicit and emergency collections), taken by the controller when a cycle
  // starts, so that the trace line marks the cycle forced. relaxed: it only labels the trace line.
  std::atomic<bool> forced_{false};
  // relaxed: a counter for tests and reports.
  std::atomic<std::uint64_t> mark_termination_restarts_{0};
  // Test hooks (gc/testing.hpp): the controller between step 4's last quiet round and step 5; a
  // mutator about to wait at the hard limit.
  TestHook before_termination_hook_;
  TestHook heap_limit_wait_hook_;

  std::uint64_t next_thread_ordinal_ = 1;

  std::thread controller_;
  std::mutex ctl_mu_;
  std::condition_variable ctl_cv_;
  std::uint64_t requested_ = 0;  // guarded by ctl_mu_
  // Cycles started and completed. Both change only under ctl_mu_. relaxed: reads under ctl_mu_ are
  // exact and reads outside it only label or estimate; the one reader that needs a cycle's results
  // without the lock uses acquire, pairing with the controller's release increment of completed_.
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  // Threads waiting at the hard limit for a cycle in flight (tests: gc/testing.hpp). seq_cst: a test
  // waits on it; nothing else reads it.
  std::atomic<std::uint32_t> heap_limit_waiters_{0};
  // Reliefs done (relieve_heap_limit_may_reach_safepoint): waits for a cycle in flight, full
  // collections. relaxed: counters for tests and reports.
  std::atomic<std::uint64_t> heap_limit_waits_{0};
  std::atomic<std::uint64_t> heap_limit_collections_{0};
  bool shutdown_ = false;
  MarkContext controller_cx_;
  std::vector<WeakSlot*> weak_slots_;
  std::vector<Ephemeron> ephemerons_;

 public:
  // --- finalizers (gc/finalizer_queue.hpp); Heap's calls forward here
  FinalizerQueue& finalizers() { return finalizers_; }
  void set_finalizer(const void* obj, FinalizerFn fn, void* ctx) { finalizers_.set_finalizer(obj, fn, ctx); }
  // On an attached thread of this heap; each object is rooted on it while its finalizer runs.
  std::size_t run_finalizers(std::size_t max);
  std::size_t pending_finalizers() const { return finalizers_.pending_finalizers(); }

  // --- weak callbacks and pools (gc/weak_registry.hpp), processed in weak_refs.cpp
  WeakRegistry& weak_registry() { return weak_registry_; }
};

}  // namespace tricolor::internal
