#include "gc/safepoint.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <ctime>
#include <thread>

#include "gc/cpu_relax.hpp"
#include "gc/thread_state.hpp"

namespace tricolor::internal {

namespace {
// progress_ is waited on with a timeout (the watchdog), which std::atomic::wait cannot do; both the
// wait and the wake are raw futex calls on the word, so they always meet. Spurious returns are fine:
// every caller re-checks its condition.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t seen, std::uint64_t timeout_ns) {
  timespec ts{};
  if (timeout_ns != 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000u);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000u);
  }
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, seen,
          timeout_ns != 0 ? &ts : nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

// How long wait_for looks again before it sleeps, in time rather than pause instructions (whose
// latency varies 10x between CPU generations: 19 ns on this project's 2-core machine).
constexpr std::uint64_t kSpinNs = 30'000;
}  // namespace

void Safepoint::notify_progress() {
  // seq_cst: release, so a waiter that sees the new count sees the state change that preceded it;
  // and the Dekker pair with wait_progress(): this add, then our load of waiters_; there, the
  // increment of waiters_, then the kernel's compare of progress_ with the count read before. One
  // of the two sees the other's write: either we see the waiter and wake it, or its futex_wait
  // finds the count changed and returns at once. So the system call is made only when someone waits
  // (a handshake answer, a BlockingScope entry or exit outside a collector's wait costs none).
  progress_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) {
    wakes_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
    futex_wake_all(&progress_);
  }
}

void Safepoint::wait_progress(std::uint32_t seen, std::uint64_t timeout_ns) {
  waiters_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: see notify_progress()
  futex_wait(&progress_, seen, timeout_ns);
  waiters_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a stale count costs a spare wake only
}

// Measured and rejected: a thread that answers while others are still to answer yields its core
// once (sched_yield), so that a preempted mutator answers sooner. On GCBench with two threads and
// the CPU-bound probe (while another build ran) the rounds per cycle fell from a median of 12-47 ms
// to 2-21 ms and peak RSS from 83-96 to 69-87 MB, but each yield kept its thread off the CPU for
// 0.8-1.5 ms on average and up to 25 ms: a pause the collector would cause, where the pause targets
// are 1 ms.
void Safepoint::handshake(std::uint32_t action) {
  const std::uint64_t start = monotonic_ns();
  // seq_cst: step 1 of the protocol (header); also a release: pairs with poll_slow's acquire, so the
  // thread sees what we set up before posting.
  for (ThreadState* t : threads_) t->poll.fetch_or(action, std::memory_order_seq_cst);
  for (ThreadState* t : threads_) wait_for(t, action, false);
  ++rounds_.rounds;
  rounds_.wall_ns += monotonic_ns() - start;
}

void Safepoint::wait_for(ThreadState* t, std::uint32_t action, bool keep_claimed) {
  const std::uint64_t start = monotonic_ns();
  bool warned = warn_after_ns_ == 0;
  unsigned spins = 0;
  bool spinning = true;
  for (;;) {
    // Read the progress count before checking, so a change after the check wakes the wait below.
    // acquire: see progress_ in the header.
    const std::uint32_t seen = progress_.load(std::memory_order_acquire);
    // acquire: pairs with the thread's release when it cleared the bit: we see its work.
    if ((t->poll.load(std::memory_order_acquire) & action) == 0) return;
    std::uint32_t expected = kBlocked;
    // seq_cst: step 2 of the protocol; its acquire half pairs with the thread's store of Blocked
    // (enter_blocking), so we see its roots and caches as it left them. The CAS alone decides
    // between us and the thread's leave_blocking CAS.
    if (t->run_state.compare_exchange_strong(expected, kClaimed, std::memory_order_seq_cst)) {
      // The thread may have answered just before it blocked: act only if still pending.
      // acquire: as the check above (the thread's clear, if it answered).
      const std::uint32_t pending = t->poll.load(std::memory_order_acquire) & action;
      if (pending & ~kActionPark) perform_(t, pending & ~kActionPark, true);
      // release: pairs with the acquire in the thread's next poll_slow. (What we did on its behalf
      // reaches it through the run state: leave_blocking's CAS acquires our release of the claim.)
      t->poll.fetch_and(~pending, std::memory_order_release);
      if (keep_claimed) {
        claimed_.push_back(t);
      } else {
        t->run_state.store(kBlocked, std::memory_order_release);  // pairs with leave_blocking's CAS
        notify_progress();
      }
      return;
    }
    // A running thread answers at its next poll, usually within microseconds: look again for a
    // little while before sleeping, which on a busy machine costs a wake-up and then a wait for a
    // core (measured: 30 context switches per cycle of a small heap). Bounded, so a descheduled
    // thread costs at most kSpinNs of this thread's CPU per wait; not with a single core, where the
    // spin would hold up the very thread it waits for.
    if (spinning && multi_core()) {
      cpu_relax();
      if ((++spins & 31) == 0 && monotonic_ns() - start >= kSpinNs) spinning = false;
      continue;
    }
    if (warned) {
      wait_progress(seen, 0);
      continue;
    }
    const std::uint64_t waited = monotonic_ns() - start;
    if (waited < warn_after_ns_) {
      wait_progress(seen, warn_after_ns_ - waited);
      continue;
    }
    warned = true;
    warnings_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
    std::fprintf(stderr,
                 "tricolor: the collector has waited %.1f s for thread '%s' (attached #%llu) to reach a "
                 "safepoint: a thread attached to a heap must poll (tricolor::safepoint() / tc_safepoint()) "
                 "in loops that do not allocate, and wait (I/O, locks, sleeps, joins) inside a "
                 "tricolor::BlockingScope (C: tc_blocking_enter/tc_blocking_leave)\n",
                 double(waited) / 1e9, t->name.empty() ? "unnamed" : t->name.c_str(),
                 static_cast<unsigned long long>(t->ordinal));
  }
}

void Safepoint::stop_the_world() {
  // seq_cst: as in handshake() (step 1).
  for (ThreadState* t : threads_) t->poll.fetch_or(kActionPark, std::memory_order_seq_cst);
  for (ThreadState* t : threads_) wait_for(t, kActionPark, true);
}

void Safepoint::start_the_world() {
  // release: parked threads acquire the epoch and see what the collector did while they were parked.
  resume_epoch_.fetch_add(1, std::memory_order_release);
  resume_epoch_.notify_all();
  // release: pairs with leave_blocking's CAS: a claimed thread sees what the stop did.
  for (ThreadState* t : claimed_) t->run_state.store(kBlocked, std::memory_order_release);
  claimed_.clear();
  notify_progress();
}

WaitAsBlocked::WaitAsBlocked(Safepoint& sp, ThreadState* t)
    : sp_(sp), t_(t != nullptr && t->blocking_depth == 0 ? t : nullptr) {
  if (t_ == nullptr) return;
  ++t_->blocking_depth;
  sp_.enter_blocking(t_);
}

WaitAsBlocked::~WaitAsBlocked() {
  if (t_ == nullptr) return;
  sp_.leave_blocking(t_);
  --t_->blocking_depth;
}

void Safepoint::with_world_stopped(ThreadState* self, const std::function<void()>& f) {
  WaitAsBlocked blocked(*this, self);  // the stop must not wait for the caller
  std::lock_guard lock(threads_mu_);
  stop_the_world();
  struct Restart {
    Safepoint& sp;
    ~Restart() { sp.start_the_world(); }
  } restart{*this};
  f();
}

void Safepoint::poll_slow(ThreadState* t) {
  if (t->no_safepoint_depth > 0) return;
  for (;;) {
    // acquire: pairs with the collector's fetch_or; we see what it set up before posting.
    const std::uint32_t pending = t->poll.load(std::memory_order_acquire);
    if (pending == 0) return;
    if (const std::uint32_t work = pending & ~kActionPark) {
      perform_(t, work, false);
      t->poll.fetch_and(~work, std::memory_order_release);  // pairs with wait_for's acquire
      notify_progress();
      continue;
    }
    // Park. Read the epoch before acknowledging, so the resume cannot slip in between. relaxed: the
    // release clear below keeps this read before it, and the collector bumps the epoch only after it
    // acquired that clear, so we read the epoch from before the bump; nothing is read through it.
    const std::uint32_t epoch = resume_epoch_.load(std::memory_order_relaxed);
    t->poll.fetch_and(~kActionPark, std::memory_order_release);  // pairs with wait_for's acquire
    notify_progress();
    // acquire: pairs with start_the_world's release: we see what the collector did while we were parked.
    while (resume_epoch_.load(std::memory_order_acquire) == epoch) resume_epoch_.wait(epoch, std::memory_order_acquire);
  }
}

void Safepoint::enter_blocking(ThreadState* t) {
  poll_slow(t);
  // seq_cst: pairs with the collector's seq_cst fetch_or of an action (see the protocol in the header).
  t->run_state.store(kBlocked, std::memory_order_seq_cst);
  notify_progress();
}

void Safepoint::leave_blocking(ThreadState* t) {
  for (;;) {
    const std::uint32_t seen = progress_.load(std::memory_order_acquire);  // acquire: see progress_
    std::uint32_t expected = kBlocked;
    // acquire (seq_cst): we see everything the collector did on our behalf while it held the claim.
    if (t->run_state.compare_exchange_strong(expected, kRunning, std::memory_order_seq_cst)) break;
    wait_progress(seen, 0);
  }
  poll_slow(t);
}

}  // namespace tricolor::internal
