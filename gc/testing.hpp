// Test hooks, named openly. They let a test put the collector into an exact state (a grey object the
// markers have not reached, a black object) so that each barrier rule has a test that fails without it.
#pragma once
#include "tricolor/heap.hpp"

namespace tricolor::internal {

// While held, marker threads do not scan anything (the cycle's marking waits for release).
void hold_markers_for_testing(Heap& heap, bool hold);
// Marks obj and scans its fields now (its children become grey), as a marker would.
void blacken_for_testing(Heap& heap, const void* obj);
bool is_marked_for_testing(Heap& heap, const void* obj);
// Clears obj's mark bit: the state a collector bug that missed a reachable object would leave (tests
// of the verifier). From the before-termination hook, nothing re-marks it before verification.
void unmark_for_testing(Heap& heap, const void* obj);
// Makes the page heap's commits fail as if mmap/mprotect had.
void fail_commits_for_testing(Heap& heap, bool fail);
// Runs the scavenger now, releasing every free span regardless of how long it has been free.
std::size_t scavenge_now_for_testing(Heap& heap);
// Finishes sweeping now (the background sweeper may still be at it).
void wait_for_sweeping_for_testing(Heap& heap);

// The safepoint watchdog's delay (gc/safepoint.hpp); returns how many warnings it printed so far.
void set_safepoint_warning_for_testing(Heap& heap, std::uint64_t after_ns);
std::uint64_t safepoint_warnings_for_testing(Heap& heap);
// Terminations that found late shades and resumed concurrent marking: a termination stop (5b), or
// the extra flush round before ragged termination (5a, after weak reads; gc/collector.cpp).
std::uint64_t mark_termination_restarts_for_testing(Heap& heap);
// Runs fn on the controller thread between step 4's last quiet flush round and step 5a (which picks
// the termination stop or the ragged way; null: none). Lets a test make a thread shade something in exactly that window.
void set_before_termination_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx);
// Runs fn on the controller thread after step 5a found no weak work for a stop, before the extra
// flush round that weak slots call for (gc/collector.cpp, "Weak reads after the quiet round").
void set_after_weak_check_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx);
// fn(ctx) runs on the thread that starts waiting for the marker threads to go quiescent (the
// controller: in concurrent marking, in the stop-the-world mark, and after each drain of weak
// processing), before it blocks. Lets a test hold a marker exactly until the controller waits for it.
void set_marker_wait_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx);
// Blocks until every marker thread is idle and nothing is published (the wait above, without its hook).
void wait_for_markers_for_testing(Heap& heap);
// fn(ctx) runs on a mutator that is about to wait for a cycle because of the heap's size, at twice
// the goal or at each stage of the hard limit's relief (a wait, the sweep, a collection: each
// recorded as PauseKind::kHeapLimitWait), before the stage begins. It may block (in a BlockingScope)
// before a wait for a cycle, not before the sweep stage, whose safety rests on no cycle being in
// flight when the stage was chosen (gc/collector_pacing.cpp).
void set_heap_limit_wait_hook_for_testing(Heap& heap, void (*fn)(void*), void* ctx);

// Blocks until a thread waits at the hard limit for the cycle in flight to end (gc/collector_pacing.cpp).
void wait_for_heap_limit_waiter_for_testing(Heap& heap);
// How often allocations at the hard limit waited for a cycle in flight, finished the sweep, and ran a
// full collection.
std::uint64_t heap_limit_waits_for_testing(Heap& heap);
std::uint64_t heap_limit_sweeps_for_testing(Heap& heap);
std::uint64_t heap_limit_collections_for_testing(Heap& heap);
// Runs one cycle to its end without sweeping it: the calling thread (attached to heap) waits as a
// blocked thread. With the background sweeper off, the spans stay unswept until an allocation or a
// collection sweeps them.
void cycle_without_sweeping_for_testing(Heap& heap);
}  // namespace tricolor::internal
