// Safepoints and handshakes (no signals). Each attached thread has a run state and a word of pending
// actions (ThreadFast::poll). The collector posts an action; a running thread performs it itself at its
// next poll (allocation slow path, safepoint(), entering a blocking scope); for a thread in a blocking
// scope the collector claims it and performs the action on its behalf (its roots cannot change while
// it is blocked, and leaving the scope waits while it is claimed).
//
// Protocol, as run by the collector while holding threads_mu():
//   1. poll.fetch_or(action)                 for every thread  (seq_cst: pairs with the thread's
//                                            run-state store; either it sees the action at its next
//                                            poll, or we see it Blocked and claim it)
//   2. for each thread: wait until it clears the action (acquire: we see everything it did), or
//      CAS Blocked -> Claimed and do it ourselves.
// A thread that never answers (attached, but blocked outside a BlockingScope or looping without a
// poll) would stall the collector silently: after warn_after_ns the wait prints one line naming it.
// Stop-the-world is the handshake "park": a running thread clears the bit and waits for the resume
// epoch to change; blocked threads stay claimed until start_the_world().
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "tricolor/internal/fast_path.hpp"

namespace tricolor::internal {

struct ThreadState;

enum Action : std::uint32_t {
  kActionScanRoots = 1u << 0,
  kActionFlush = 1u << 1,
  kActionPark = 1u << 2,
  kActionBarrierOn = 1u << 3,
  kActionMarkDone = 1u << 4,       // ragged termination, round 1: barrier off (gc/collector.cpp)
  kActionAllocateWhite = 1u << 5,  // ragged termination, round 2: caches back, allocate white
};

enum RunState : std::uint32_t { kRunning = 0, kBlocked = 1, kClaimed = 2 };

class Safepoint {
 public:
  // `perform` runs actions (not park) for a thread, by itself or on its behalf.
  explicit Safepoint(std::function<void(ThreadState*, std::uint32_t actions, bool on_behalf)> perform)
      : perform_(std::move(perform)) {}

  // Collector side; the caller holds threads_mu().
  void handshake(std::uint32_t action);
  void stop_the_world();
  void start_the_world();
  std::mutex& threads_mu() { return threads_mu_; }
  std::vector<ThreadState*>& threads() { return threads_; }  // guarded by threads_mu()
  // Runs f with every mutator stopped, holding threads_mu (so no cycle advances meanwhile); for the
  // tools (introspect/) and tests. `self` is the calling thread if it is attached to this heap, else
  // null: it counts as blocked for the duration (the stop does not wait for it), and f must not
  // touch the heap through it. Not from the collector, which holds threads_mu already.
  void with_world_stopped(ThreadState* self, const std::function<void()>& f);

  // Mutator side.
  void poll_slow(ThreadState* t);
  void enter_blocking(ThreadState* t);
  void leave_blocking(ThreadState* t);

  void notify_progress();

  // The watchdog: a collector that has waited this long for one thread to answer prints one line
  // naming the thread and the fix (default 1 s; 0 turns it off).
  void set_warn_after_ns(std::uint64_t ns) { warn_after_ns_ = ns; }
  std::uint64_t warnings_printed() const { return warnings_.load(std::memory_order_relaxed); }
  // Handshake rounds run so far and their summed wall time, posting to the last answer (the trace
  // line reports each cycle's share: on an oversubscribed machine a round lasts until every thread
  // has been scheduled once, and this is where a long cycle's time goes). Under threads_mu().
  struct RoundTotals {
    std::uint64_t rounds = 0;
    std::uint64_t wall_ns = 0;
  };
  RoundTotals round_totals() const { return rounds_; }
  // Wake-up system calls made (tests: a thread that answers or blocks while nobody waits makes none).
  std::uint64_t wakes_for_testing() const { return wakes_.load(std::memory_order_relaxed); }

 private:
  void wait_for(ThreadState* t, std::uint32_t action, bool keep_claimed);

  std::function<void(ThreadState*, std::uint32_t, bool)> perform_;
  std::mutex threads_mu_;
  std::vector<ThreadState*> threads_;
  std::vector<ThreadState*> claimed_;  // claimed by stop_the_world, released by start_the_world
  // Bumped (release, notify_progress) after every change a waiter waits for: a cleared action, a
  // run state stored. A waiter loads it with acquire before checking its condition and sleeps only
  // while it is unchanged, so a change it missed has bumped the count (no lost wake-up), and once it
  // sees the bump its re-check sees the change (the acquire pairs with the bump's release).
  std::atomic<std::uint32_t> progress_{0};
  // Threads sleeping on progress_ (wait_progress): notify_progress() wakes only if there are any.
  std::atomic<std::uint32_t> waiters_{0};
  void wait_progress(std::uint32_t seen, std::uint64_t timeout_ns);
  // Bumped by start_the_world (release); parked threads wait on it with acquire (see there).
  std::atomic<std::uint32_t> resume_epoch_{0};
  std::uint64_t warn_after_ns_ = 1'000'000'000;  // collector side, under threads_mu
  RoundTotals rounds_;                            // collector side, under threads_mu
  std::atomic<std::uint64_t> warnings_{0};  // relaxed (all uses): a counter of watchdog lines
  std::atomic<std::uint64_t> wakes_{0};     // relaxed (all uses): a counter for tests
};

// The collector's own waits on a mutator's behalf (a collection it asked for, a heap-limit wait, a
// tool's stop): for its lifetime the thread counts as blocked, so handshakes and stops do its part
// on its behalf instead of waiting for it (a thread waiting for a cycle must not hold that cycle
// up). A no-op when t is null or already blocked. Unlike the public BlockingScope, allocation stays
// unparked: the thread allocates nothing while it waits.
class WaitAsBlocked {
 public:
  WaitAsBlocked(Safepoint& sp, ThreadState* t);
  ~WaitAsBlocked();
  WaitAsBlocked(const WaitAsBlocked&) = delete;
  WaitAsBlocked& operator=(const WaitAsBlocked&) = delete;

 private:
  Safepoint& sp_;
  ThreadState* t_;  // null when this scope did not block
};

}  // namespace tricolor::internal
