// The cycle's phase machine, run by the controller thread.
//
// A concurrent cycle. No mutator waits for another mutator anywhere below, and no marking happens
// while the world is stopped, unless weak references need step 5b's stop (and then see there).
//  1. Sweep termination: finish the previous cycle's sweep (mark bits must all be clear; checked).
//  2. Barrier round, a ragged handshake (kActionBarrierOn): each thread turns its own barrier on, with
//     the insertion half (roots not scanned yet), and keeps allocating white. No object is black yet:
//     markers have not started, no cache pre-marks until the round is over, and no thread assists
//     before its root scan (a barrier flush may make objects grey meanwhile, but nobody scans them).
//     When the round ends every mutator shades, and from then on every span a thread takes is
//     pre-marked (Collector::pre_mark, barriers_all_on_), so what a thread allocates between the
//     round's end and its root scan is born black instead of being shaded and scanned.
//     Why a round and not one stop: the only requirement is "every barrier on before the first black
//     object", and the round's end is that moment; each thread's pause is its own flag flip, and a
//     descheduled thread delays the collector, never another mutator.
//     Heap-wide root callbacks read embedder structures that may not be read concurrently with the
//     mutators; if any are registered they are scanned in a stop here (the one place a mark-start stop
//     remains, and only for embedders that use them). Ready finalizers are scanned (under their lock).
//  3. Root round, a ragged handshake (kActionScanRoots): each thread gives back its cached spans (some
//     may have been installed white before step 2 ended; every span it takes from now on has its free
//     slots pre-marked: allocate black), scans its own roots and drops the insertion half. Blocked
//     threads are done on their behalf. Markers scan the Globals and drain the worklists meanwhile.
//  4. Concurrent mark until the markers are quiescent (every marker idle and the pool empty); then a
//     flush round (kActionFlush) marks every thread's barrier buffer; repeat until a round found
//     nothing new, no object was scanned anywhere while it ran, and at its end the markers are
//     quiescent and no assist holds work. That proves termination (below).
//  5a. Weak work decides the way out. With no ephemeron recorded, no recorded weak slot whose target
//     is white, no white finalizable object, no pool and no weak callback, nothing needs the world
//     stopped: 5c, after one more quiet flush round if the cycle recorded weak slots (a weak read
//     between step 4's last round and this check may have resurrected a white object; see
//     "Weak reads after the quiet round" below): if that round is not quiet, back to 4. Otherwise 5b.
//  5b. Termination stop, constant work per thread: flush every buffer once more (at most
//     BarrierBuffer::kCapacity entries each). If that found a grey object or the markers are not
//     quiescent, the world resumes at once and the cycle goes back to 4 (Go's mark-termination
//     restart): the stop never drains. Each restart consumes at least one white object that existed
//     at mark start (an object is shaded once per cycle, and new objects are black), so restarts end.
//     Otherwise: weak references (ephemeron values and finalizer-resurrected objects are still marked
//     here: the one marking left in a stop, proportional to what they reach), verify (if configured),
//     caches give back their spans, barrier off, flip. Why this stop remains: weak clearing must be
//     atomic with respect to Weak::get and pool pops (which shade while marking: a target one thread
//     reads while another clears it would be resurrected with its children unmarked), and weak
//     callbacks are promised a stopped world.
//  5c. Ragged termination, two rounds around the flip and no global stop:
//     - round 1 (kActionMarkDone): each thread flushes its buffer (everything in it is black) and
//       turns its barrier off; it keeps allocating black from spans of the marking's generation;
//     - the flip (end_marking_and_flip), under the page heap's lock: every span in use becomes
//       unswept (sweep_gen += 2), and spans born from then on are of the new generation;
//     - round 2 (kActionAllocateWhite): each thread gives back its cached spans, now of the previous
//       generation (return_span puts them where the sweep will find them, and the flip counted them),
//       and allocates white.
//     Why this order. Barriers must be off everywhere before the flip: a barrier flush after it would
//     set mark bits in spans of the new generation, and the next cycle would start with black
//     objects whose children it never scans. Allocation must stay black until the flip: an object
//     allocated white into a span of the marking's generation would be freed by the sweep that reads
//     that marking. Between the flip and a thread's round 2 the thread may allocate from its cached,
//     pre-marked spans (those objects survive one sweep: floating garbage at most) or take new ones;
//     a span is pre-marked only if it is of the marking's generation (Collector::pre_mark), so a new
//     span stays white whatever the thread still believes. The verifier, when configured, checks the
//     termination claim in a stop after round 1 (tests and debugging only; a global pause then).
//  6. Sweep lazily (allocating threads) and in the background.
// In stop-the-world mode (Config::concurrent = false) steps 2-5 happen inside one global stop.
//
// Termination (step 4's proof; ragged, so no thread waits for another to prove it). Claim: if a flush
// round found no white object in any buffer, no object was scanned anywhere between the round's
// start and its end (Marker::scanned_bytes_so_far unchanged), and at the end the markers are
// quiescent and no assist holds work, then at the end every object reachable from the mutators is
// black, and stays so. Argument: with black stacks (roots scanned) the hybrid barrier keeps every
// reachable white object protected: reachable from a grey object or from an entry in some buffer
// through white objects. A grey object that existed at the round's start is in a worklist; it would
// have been scanned before the end (quiescent then), changing the count. So every protector at the
// start is a buffer entry, and each buffer is flushed at its thread's answer, after the start: a
// white entry would have been found. (A grey object a mutator keeps in its local worklist between
// two assist slices need not be scanned before the end, but the thread's answer publishes it and
// counts it as found.) A thread that answered may take a white object into its buffer
// afterwards only by deleting a reference to it, and then it was protected by something existing
// earlier in the round; following protectors back in time ends at the round's start, where every
// protector was found or scanned. So none existed, and no reachable object is white. Stable: the
// barriers can only shade what mutators reach, already black; new objects are black; only a weak
// read or a pool pop could turn an unreachable white object grey, which 5a sends to 5b.
//
// Weak reads after the quiet round (found by the fuzzer: an abort in 5c's round 1, "a thread's
// barrier buffer held white objects"). 5a looks at the recorded weak slots *after* the quiet round,
// one at a time, while mutators run. A thread that answered the round may, before 5a looks, read a
// slot whose target X is white (Weak::get shades X into its buffer and returns it; X is now held,
// in a Root say), then overwrite the slot with a black object. 5a sees only the new target, and 5c
// would take X's shade into round 1 after marking ended: X marked, its children never scanned and
// freed. So when the cycle recorded weak slots, 5c is entered only after one more flush round that
// is quiet in the same sense as step 4's, with step 4's quiet round as the baseline of the scanned
// count: nothing may have been scanned since then either. (A read's target that reached the markers
// early, through a full buffer or a detaching thread, and was scanned after 5a took the recorded
// slots but before the extra round began, would otherwise go unseen, with the weak slots and
// ephemerons of what it reaches never looked at.) Why that round suffices: a mutator can obtain a
// white object only through a weak read or a pool pop (pools always take 5b). Take the first weak
// read, in time, that returns a white object and is not in its reader's buffer when the reader
// answers the extra round: every read before the answer is there, or reached the markers earlier
// through a full buffer, and then its scan changed the count. It comes after the answer, which
// comes after the post, which comes after 5a read every recorded slot; by read-read coherence it sees
// the value 5a saw (black, or 5a would have chosen 5b) or a later store. A later store's value was
// held by the storing thread: black (everything reachable is), or white from an earlier such read,
// which is in some buffer at its reader's answer (found) or is an earlier read of this same kind
// (contradicting "first"). Slots not recorded (in objects allocated black) hold values stored during
// marking, black by the same argument, given the weak store's insertion half: a thread whose roots
// are not scanned yet shades what it stores into a weak slot (gc/write_barrier.cpp), since it may
// store an object it allocated white, or hold one no other path protects, into an object another
// thread allocated black, whose slots are never recorded. With no recorded slot there is nothing
// for a first read to read, and the round is skipped.
#include "gc/collector.hpp"

#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "gc/background_thread.hpp"
#include "gc/heap_impl.hpp"
#include "gc/verifier.hpp"

namespace tricolor::internal {

namespace {
std::mutex g_barrier_mu;
int g_marking_heaps = 0;      // guarded by g_barrier_mu
int g_root_window_heaps = 0;  // guarded by g_barrier_mu

// Keeps a process-wide flag equal to "count > 0" as heaps enter and leave a phase. relaxed: each
// flag's order is argued at its declaration (include/tricolor/internal/fast_path.hpp).
void count_heap(int& heaps, std::atomic<bool>& flag, bool enter) {
  std::lock_guard lock(g_barrier_mu);
  if (enter ? heaps++ == 0 : --heaps == 0) flag.store(enter, std::memory_order_relaxed);
}
}  // namespace

void barrier_heap_started() { count_heap(g_marking_heaps, g_barrier_active, true); }
void barrier_heap_stopped() { count_heap(g_marking_heaps, g_barrier_active, false); }
void root_window_started() { count_heap(g_root_window_heaps, g_root_barrier_active, true); }
void root_window_ended() { count_heap(g_root_window_heaps, g_root_barrier_active, false); }

Collector::Collector(HeapImpl& h) : h_(h), controller_cx_(h.marker.pool()) {}

void Collector::start() {
  controller_ = std::thread([this] { controller_main(); });
  name_thread(controller_, "tc-collector");
}

void Collector::stop() {
  {
    std::lock_guard lock(ctl_mu_);
    shutdown_ = true;
  }
  ctl_cv_.notify_all();
  if (controller_.joinable()) controller_.join();
}

void Collector::emit(Phase p) {
  if (h_.observer() != nullptr) h_.observer()->on_phase(p);
  if (h_.config.on_event)
    h_.config.on_event(Event{p, started_.load(std::memory_order_relaxed), monotonic_ns(), h_.pages.in_use_bytes()});
}

void Collector::request_cycle() {
  // One request per cycle: the flag is cleared at mark termination, when the next trigger is known.
  if (cycle_requested_.exchange(true, std::memory_order_relaxed)) return;
  // relaxed: published to the controller by ctl_mu_ below (see their declaration).
  allocated_at_request_.store(allocated_total_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  requested_at_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  {
    std::lock_guard lock(ctl_mu_);
    if (requested_ <= started_.load(std::memory_order_relaxed)) requested_ = started_.load(std::memory_order_relaxed) + 1;
  }
  ctl_cv_.notify_all();
}

void Collector::collect() {
  std::uint64_t target;
  {
    std::lock_guard lock(ctl_mu_);
    // A cycle already under way may have missed objects that died just now: wait for the next one.
    target = started_.load(std::memory_order_relaxed) + 1;
    requested_ = std::max(requested_, target);
  }
  forced_.store(true, std::memory_order_relaxed);  // only labels the trace line
  ctl_cv_.notify_all();
  await_cycle(target);
}

void Collector::wait_for_completion_blocked(std::uint64_t target) {
  std::unique_lock lock(ctl_mu_);
  // relaxed: completed_ changes only under ctl_mu_, held here when the predicate runs. (After
  // shutdown no cycle completes; only a thread the heap's owner failed to stop waits then.)
  ctl_cv_.wait(lock, [&] { return completed_.load(std::memory_order_relaxed) >= target || shutdown_; });
}

void Collector::wait_for_completion(ThreadState* t, std::uint64_t target) {
  WaitAsBlocked blocked(h_.safepoint, t);  // the cycle scans our roots on our behalf
  wait_for_completion_blocked(target);
}

void Collector::await_cycle(std::uint64_t target) {
  // Blocked through the sweep too: finish() waits for spans other threads sweep, and a cycle that
  // starts meanwhile must be able to run its rounds on our behalf (the next cycle's round 2 returns
  // the cached spans its flip counted).
  WaitAsBlocked blocked(h_.safepoint, h_.attached_thread());
  wait_for_completion_blocked(target);
  h_.sweeper.finish(sweep_gen());
}

// Besides requested cycles, the controller runs a periodic one when none ran for a while (Go forces
// one every 2 minutes): a program whose live heap dropped but that stopped allocating would never
// learn it, and its memory would never go back to the OS. The period starts at
// Config::periodic_gc_ms and doubles (up to 128x) after each periodic cycle that found nothing new
// to free, so an idle program with a large, stable heap pays almost nothing.
void Collector::controller_main() {
  using ms = std::chrono::milliseconds;
  const std::uint64_t base = h_.config.periodic_gc_ms;
  std::uint64_t period = base;
  for (;;) {
    bool periodic = false;
    {
      std::unique_lock lock(ctl_mu_);
      auto ready = [&] { return shutdown_ || requested_ > started_.load(std::memory_order_relaxed); };
      if (base == 0) {
        ctl_cv_.wait(lock, ready);
      } else if (!ctl_cv_.wait_for(lock, ms(period), ready)) {
        periodic = true;
      }
      if (shutdown_) return;
      started_.fetch_add(1, std::memory_order_relaxed);
      // relaxed: under ctl_mu_, which the requesting thread released after its stores.
      trace_.requested_at = requested_at_ns_.exchange(0, std::memory_order_relaxed);
      trace_.allocated_at_request = allocated_at_request_.load(std::memory_order_relaxed);
    }
    const std::size_t live_before = h_.pacer.last_live();
    const std::uint64_t freed_before = h_.sweeper.objects_freed();
    trace_.cause = forced_.exchange(false, std::memory_order_relaxed) ? TraceLine::Cause::kForced
                   : periodic                                          ? TraceLine::Cause::kPeriodic
                                                                       : TraceLine::Cause::kPaced;
    run_cycle();
    if (periodic) {
      h_.sweeper.finish(sweep_gen());
      const bool found_garbage = h_.sweeper.objects_freed() != freed_before || h_.pacer.last_live() < live_before;
      period = found_garbage ? base : std::min(period * 2, base * 128);
    } else {
      period = base;
    }
    {
      std::lock_guard lock(ctl_mu_);
      completed_.fetch_add(1, std::memory_order_release);
    }
    ctl_cv_.notify_all();
    emit(Phase::kSweep);
    h_.sweeper.wake_background();
  }
}

void Collector::finish_sweep() {
  emit(Phase::kSweepTermination);
  h_.sweeper.finish(sweep_gen());
}

void Collector::run_cycle() {
  finish_sweep();
  TC_DCHECK_SLOW(central_mark_bits_clear(h_), "tricolor: a swept span carries mark bits into a new cycle");
  if (h_.config.concurrent) run_cycle_concurrent();
  else run_cycle_stop_the_world();
}

void Collector::perform(ThreadState* t, std::uint32_t actions, bool on_behalf) {
  const std::uint64_t t0 = monotonic_ns();
  if (actions & kActionBarrierOn) {
    // Step 2: barrier on, with the insertion half until this thread's roots are scanned. Allocation
    // stays white: another thread's barrier may still be off.
    TC_DCHECK(!t->allocate_black, "tricolor: allocate-black before the barrier round");
    t->marking = true;
    t->roots_scanned = false;
    if (!on_behalf) h_.recorder.record(PauseKind::kHandshake, t0, monotonic_ns() - t0);
  }
  if (actions & kActionScanRoots) {
    TC_DCHECK(t->marking, "tricolor: root scan before the barrier round");
    // Step 3: from now on every span this thread takes is pre-marked (allocate black); the spans it
    // cached before were installed white, so give them back first.
    h_.allocator.release_caches(t);
    t->allocate_black = true;
    h_.scan_thread_roots(t, t->mark);
    t->roots_scanned = true;
    t->mark.work.publish();
    h_.marker.merge(t->mark);
    if (!on_behalf) h_.recorder.record(PauseKind::kRootScan, t0, monotonic_ns() - t0);
  }
  if (actions & kActionFlush) {
    const std::size_t found = h_.flush_barrier(t);
    if (found != 0) flush_found_.fetch_add(found, std::memory_order_relaxed);
    if (!on_behalf) h_.recorder.record(PauseKind::kHandshake, t0, monotonic_ns() - t0);
  }
  if (actions & kActionMarkDone) {
    // Step 5c, round 1: every reachable object is black, so what the buffer holds is black too
    // (each entry was reachable when recorded); the barrier goes off. Allocation stays black: the
    // spans are still of the marking's generation, whose sweep will read their mark bits.
    const std::size_t found = h_.flush_barrier(t);
    TC_DCHECK(found == 0, "tricolor: a thread's barrier buffer held %zu white objects after ragged termination", found);
    (void)found;
    t->marking = false;
    t->assist_debt = 0;
    if (!on_behalf) h_.recorder.record(PauseKind::kHandshake, t0, monotonic_ns() - t0);
  }
  if (actions & kActionAllocateWhite) {
    // Step 5c, round 2, after the flip: the cached spans (pre-marked, of the old generation) go to
    // what are now the unswept lists (return_span), and new spans are installed white.
    TC_DCHECK(!t->marking, "tricolor: allocate-white round before the thread's barrier went off");
    h_.allocator.release_caches(t);
    t->allocate_black = false;
    t->roots_scanned = true;
    if (!on_behalf) h_.recorder.record(PauseKind::kHandshake, t0, monotonic_ns() - t0);
  }
}

void Collector::run_cycle_concurrent() {
  const std::uint64_t cycle_start = monotonic_ns();
  trace_.cycle_start = cycle_start;
  const std::size_t heap_before = h_.pages.in_use_bytes();
  {
    std::lock_guard lock(h_.safepoint.threads_mu());
    emit(Phase::kMarkStart);
    trace_.rounds_at_start = h_.safepoint.round_totals();
    const std::uint64_t t0 = monotonic_ns();
    cycle_start_mark_ = t0;  // marking time counts from the barrier round
    h_.marker.reset_cycle_counters();
    allocated_at_mark_start_ = allocated_total_.load(std::memory_order_relaxed);
    // relaxed: attach() reads it under threads_mu, which we hold until the root round is over.
    marking_.store(true, std::memory_order_relaxed);
    mark_gen_.store(sweep_gen(), std::memory_order_relaxed);  // relaxed: see its declaration
    // The process-wide flag first: a thread that answers the round below acquires the poll word the
    // handshake released after this store, so its inline check sees the flag from then on.
    barrier_heap_started();
    root_window_started();
    h_.safepoint.handshake(kActionBarrierOn);  // step 2
    barriers_all_on_.store(true, std::memory_order_release);  // see its declaration
    trace_.start_stop = monotonic_ns() - t0;
    const bool stopped = h_.roots().has_heap_callbacks();
    const std::uint64_t stop0 = monotonic_ns();
    if (stopped) h_.safepoint.stop_the_world();
    h_.scan_heap_callbacks(controller_cx_);
    if (stopped) {
      h_.safepoint.start_the_world();
      h_.recorder.record(PauseKind::kMarkStart, stop0, monotonic_ns() - stop0);
    }
    controller_cx_.work.publish();
    h_.marker.merge(controller_cx_);
    trace_.start_pause = stopped ? monotonic_ns() - stop0 : 0;

    h_.marker.begin_cycle([this](MarkContext& cx) { h_.scan_globals(cx); });
    emit(Phase::kRootScan);
    h_.safepoint.handshake(kActionScanRoots);  // step 3
    // Every attached thread's roots are scanned, and a thread attaching from now on has none: a
    // Root<T> assignment needs no shade from here on (gc/write_barrier.cpp, "Root part").
    root_window_ended();
  }
  emit(Phase::kMark);
  const std::uint64_t mark_start = cycle_start_mark_;
  trace_.restarts = 0;
  WeakWork weak;
  for (;;) {
    const std::size_t scanned_at_quiet = concurrent_mark_until_quiet();  // step 4
    before_termination_hook_.fire();
    if (!termination_needs_stop(weak)) {      // step 5a
      // Weak reads between step 4's last round and 5a's look at the slots (top of file).
      after_weak_check_hook_.fire();
      if (weak.slots.empty() || flush_round_quiet(scanned_at_quiet)) {
        finish_marking_ragged(mark_start, heap_before);  // step 5c
        break;
      }
    } else if (try_mark_termination(mark_start, heap_before, weak)) {  // step 5b
      break;
    }
    ++trace_.restarts;
    mark_termination_restarts_.fetch_add(1, std::memory_order_relaxed);
  }
  h_.marker.end_cycle();
}

std::size_t Collector::concurrent_mark_until_quiet() {
  for (;;) {
    h_.marker.wait_quiescent();
    // Scanning done anywhere during the round shows here (see "Termination" at the top of the file).
    const std::size_t scanned_before = h_.marker.scanned_bytes_so_far();
    if (flush_round_quiet(scanned_before)) return scanned_before;
  }
}

bool Collector::flush_round_quiet(std::size_t scanned_before) {
  std::lock_guard lock(h_.safepoint.threads_mu());
  flush_found_.store(0, std::memory_order_relaxed);
  h_.safepoint.handshake(kActionFlush);
  const std::size_t found = flush_found_.load(std::memory_order_relaxed) + (h_.drain_pending_shades(controller_cx_) ? 1 : 0);
  // Quiet only if the round found nothing *and* nothing is held anywhere: markers that took a
  // segment from the pool just before we looked are not idle (the pool being empty is not enough),
  // and an assist may be holding work it took from the pool. And no object was scanned while the
  // round ran: a grey object that existed when it began (an assist's, or one published by a full
  // barrier buffer) may have protected a white one that a thread that had already answered then
  // took into its buffer. The scanned count is read after the two acquires above, which order
  // every drain that ended before them (each adds its count before it publishes or goes idle).
  return found == 0 && h_.marker.quiescent() && h_.assists.in_flight() == 0 &&
         h_.marker.scanned_bytes_so_far() == scanned_before;
}

void Collector::run_cycle_stop_the_world() {
  const std::uint64_t cycle_start = monotonic_ns();
  trace_.cycle_start = cycle_start;
  const std::size_t heap_before = h_.pages.in_use_bytes();
  std::lock_guard lock(h_.safepoint.threads_mu());
  emit(Phase::kMarkStart);
  trace_.rounds_at_start = h_.safepoint.round_totals();
  h_.safepoint.stop_the_world();
  h_.marker.reset_cycle_counters();
  allocated_at_mark_start_ = allocated_total_.load(std::memory_order_relaxed);
  marking_.store(true, std::memory_order_relaxed);  // relaxed: under threads_mu (collector.hpp)
  mark_gen_.store(sweep_gen(), std::memory_order_relaxed);  // relaxed: the world is stopped
  for (ThreadState* t : h_.safepoint.threads()) {
    h_.allocator.release_caches(t);
    h_.scan_thread_roots(t, controller_cx_);
  }
  h_.scan_heap_callbacks(controller_cx_);
  h_.drain_pending_shades(controller_cx_);
  controller_cx_.work.publish();
  h_.marker.merge(controller_cx_);
  emit(Phase::kMark);
  h_.marker.begin_cycle([this](MarkContext& cx) { h_.scan_globals(cx); });
  h_.marker.wait_quiescent();
  emit(Phase::kMarkTermination);  // inside the one stop (on_event neither allocates nor blocks)
  WeakWork weak;
  finish_marking_stopped(cycle_start, heap_before, PauseKind::kFullStop, cycle_start, weak);
  h_.marker.end_cycle();
}

bool Collector::termination_needs_stop(WeakWork& weak) {
  h_.marker.merge(controller_cx_);
  h_.marker.take_weak(weak.slots, weak.ephemerons);
  if (!weak.ephemerons.empty()) return true;
  // Marking is complete and stays so (every reachable object is black, and nothing turns a white one
  // grey again but a weak read or a pool, checked here): a weak slot whose target is marked now needs
  // no clearing this cycle, and any target a mutator stores into one from now on is reachable, so
  // marked. relaxed: as the mark bits, the target's value alone is used.
  for (WeakSlot* w : weak.slots)
    if (const void* t = w->target.load(std::memory_order_relaxed); t != nullptr && !h_.marker.is_marked(t)) return true;
  if (h_.weak_registry().has_weak_sets()) return true;
  // White finalizable objects, to resurrect and queue, in a stop.
  if (h_.finalizers().has_unmarked([&](const void* p) { return h_.marker.is_marked(p); })) return true;
  return h_.weak_registry().has_weak_callbacks();  // their contract: they run with the world stopped
}

bool Collector::try_mark_termination(std::uint64_t mark_start, std::size_t heap_before,
                                    WeakWork& weak) {
  std::lock_guard lock(h_.safepoint.threads_mu());
  emit(Phase::kMarkTermination);
  const std::uint64_t t0 = monotonic_ns();
  h_.safepoint.stop_the_world();
  trace_.stopped = monotonic_ns();
  // Constant work per thread: at most one buffer each. Normally nothing is found (the last flush
  // round found nothing); a thread that shaded since its answer makes us resume marking instead.
  std::size_t found = 0;
  for (ThreadState* t : h_.safepoint.threads()) found += h_.flush_barrier(t);
  if (h_.drain_pending_shades(controller_cx_)) ++found;
  // Every mutator is stopped and none is inside an assist (assists end before the thread polls), so
  // only the markers could still hold grey objects: they are quiescent or we resume.
  if (found != 0 || !h_.marker.quiescent()) {
    controller_cx_.work.publish();
    h_.marker.merge(controller_cx_);
    h_.safepoint.start_the_world();
    h_.recorder.record(PauseKind::kMarkTermination, t0, monotonic_ns() - t0);
    return false;  // counted in the trace line's restarts
  }
  TC_DCHECK(h_.assists.in_flight() == 0, "tricolor: an assist runs in the termination stop");
  trace_.drained = monotonic_ns();
  finish_marking_stopped(mark_start, heap_before, PauseKind::kMarkTermination, t0, weak);
  return true;
}

// World stopped, marking complete. Shared tail of the stop-the-world mode and step 5b.
void Collector::finish_marking_stopped(std::uint64_t mark_start, std::size_t heap_before,
                                      PauseKind pause, std::uint64_t pause_start, WeakWork& weak) {
  if (pause == PauseKind::kFullStop) trace_.stopped = trace_.drained = monotonic_ns();
  h_.process_weak_references(weak, controller_cx_);
  trace_.weak = monotonic_ns();
  TC_DCHECK(no_grey_objects(h_, controller_cx_), "tricolor: a grey object is left after mark termination");
  if (h_.config.verify) verify_marking(h_);
  // Both of step 5c's rounds at once, with the world stopped: before the flip, which is all the
  // order they need when no thread runs in between.
  for (ThreadState* t : h_.safepoint.threads()) {
    TC_DCHECK(t->barrier.n == 0, "tricolor: a barrier buffer holds shades after termination");
    perform(t, kActionMarkDone | kActionAllocateWhite, true);
  }
  end_marking_and_flip();
  h_.safepoint.start_the_world();
  const std::uint64_t end = monotonic_ns();
  h_.recorder.record(pause, pause_start, end - pause_start);
  report_cycle(mark_start, heap_before, pause_start, end, pause != PauseKind::kFullStop);
}

void Collector::finish_marking_ragged(std::uint64_t mark_start, std::size_t heap_before) {
  std::lock_guard lock(h_.safepoint.threads_mu());
  emit(Phase::kMarkTermination);
  const std::uint64_t t0 = monotonic_ns();
  trace_.stopped = t0;
  h_.safepoint.handshake(kActionMarkDone);  // round 1: every barrier off
  trace_.drained = monotonic_ns();
  TC_DCHECK(no_grey_objects(h_, controller_cx_), "tricolor: a grey object is left after ragged mark termination");
  std::uint64_t stopped_ns = 0;
  if (h_.config.verify) {
    // Checking the termination claim needs a still heap: a stop, in verifying builds and tests only.
    const std::uint64_t v0 = monotonic_ns();
    h_.safepoint.stop_the_world();
    verify_marking(h_);
    h_.safepoint.start_the_world();
    stopped_ns = monotonic_ns() - v0;
    h_.recorder.record(PauseKind::kMarkTermination, v0, stopped_ns);
  }
  trace_.weak = monotonic_ns();
  end_marking_and_flip();
  h_.safepoint.handshake(kActionAllocateWhite);  // round 2: caches back, allocation white
  const std::uint64_t end = monotonic_ns();
  report_cycle(mark_start, heap_before, end - stopped_ns, end, true);
}

void Collector::end_marking_and_flip() {
  const bool was_concurrent = h_.config.concurrent;
  marking_.store(false, std::memory_order_relaxed);  // relaxed: under threads_mu (collector.hpp)
  barriers_all_on_.store(false, std::memory_order_relaxed);  // relaxed: see its declaration
  if (was_concurrent) barrier_heap_stopped();
  // A Global destroyed after the last flush shaded its (black) target into the root set's pending
  // shades: drop it before the flip, or the next cycle would shade a pointer that may be freed by
  // then. The store of false above precedes discard_pending_shades's section under the root set's
  // lock, so a later unregister_global sees it and adds nothing.
  h_.roots().discard_pending_shades([&](const void* p) {
    TC_DCHECK(h_.marker.is_marked(p), "tricolor: a destroyed Global's target %p is white after termination", p);
    (void)p;
  });
  // Live heap for pacing: what marking found reachable from the snapshot. Objects allocated black
  // during the cycle are not counted as live but as allocation since the snapshot (heap_live()
  // starts at live + during): counting them as live would let a long cycle under a fast allocator
  // ratchet the goal up without bound.
  const std::size_t allocated = allocated_total_.load(std::memory_order_relaxed);
  const std::size_t during = allocated - allocated_at_mark_start_;
  const std::size_t live = h_.marker.cycle_marked_bytes();
  trace_.heap_at_end = h_.pages.in_use_bytes();
  // Every in-use span becomes unswept with the flip: those in central lists at once (the list
  // indexes flip), those a thread cache still holds when it gives them back (step 5c's round 2).
  // Under the page heap's lock, so the count and the flip are one moment for span allocation.
  h_.pages.flip_generation(sweep_gen() + 2, [&](std::size_t in_use_spans) {
    h_.sweeper.begin_generation(in_use_spans, sweep_gen() + 2);
    // acq_rel: releases the termination's work (begin_generation, the mark bits) to every sweeper
    // that reads the new generation with sweep_gen()'s acquire; the acquire half keeps later work
    // after the flip.
    sweep_gen_.fetch_add(2, std::memory_order_acq_rel);
  });
  allocated_at_termination_.store(allocated_at_mark_start_, std::memory_order_relaxed);
  h_.pacer.end_cycle(live, during);
  h_.pages.set_scavenge_retain(h_.pacer.goal() + h_.pacer.goal() / 10);
  cycle_requested_.store(false, std::memory_order_relaxed);
  trace_.flipped = monotonic_ns();
}

void Collector::report_cycle(std::uint64_t mark_start, std::uint64_t heap_before, std::uint64_t pause_start,
                            std::uint64_t end, bool concurrent) {
  const double wall_ms = double(end - mark_start) / 1e6;
  const double cpu_ms = double(h_.marker.cycle_cpu_ns()) / 1e6;
  h_.recorder.add_cycle(wall_ms, cpu_ms);
  if (h_.config.gctrace) {
    TraceLine line;
    line.cycle = started_.load(std::memory_order_relaxed);
    line.cause = trace_.cause;
    line.concurrent = concurrent;
    line.start_ns = trace_.cycle_start;
    line.start_phase_ns = line.concurrent ? trace_.start_stop + trace_.start_pause : 0;
    line.mark_ns = line.concurrent ? pause_start - mark_start - std::min(pause_start - mark_start, line.start_phase_ns) : 0;
    line.stop_ns = end - pause_start;
    line.restarts = trace_.restarts;
    // threads_mu is held by every caller (the end of 5b, 5c and the stop-the-world cycle).
    const Safepoint::RoundTotals rounds = h_.safepoint.round_totals();
    line.rounds = rounds.rounds - trace_.rounds_at_start.rounds;
    line.round_ns = rounds.wall_ns - trace_.rounds_at_start.wall_ns;
    line.marker_cpu_ns = h_.marker.cycle_cpu_ns();
    line.markers = h_.marker.threads();
    if (trace_.requested_at != 0 && trace_.requested_at <= trace_.cycle_start) {
      line.trigger_lag_ns = trace_.cycle_start - trace_.requested_at;
      line.trigger_lag_bytes = allocated_at_mark_start_ - std::min(allocated_at_mark_start_, trace_.allocated_at_request);
    }
    line.heap_before = heap_before;
    line.heap_after = trace_.heap_at_end;
    line.live = h_.marker.cycle_marked_bytes();
    line.goal = h_.pacer.goal();
    const std::string text = h_.recorder.trace_line(line);
    std::fputs(text.c_str(), stderr);
  }
}

}  // namespace tricolor::internal
