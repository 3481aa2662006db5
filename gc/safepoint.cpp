#include "gc/safepoint.hpp"

#include "gc/thread_state.hpp"

namespace tricolor::internal {

void Safepoint::handshake(std::uint32_t action) {
  for (ThreadState* t : threads_) t->poll.fetch_or(action, std::memory_order_seq_cst);
  for (ThreadState* t : threads_) wait_for(t, action, false);
}

void Safepoint::wait_for(ThreadState* t, std::uint32_t action, bool keep_claimed) {
  for (;;) {
    // Read the progress count before checking, so a change after the check wakes the wait below.
    const std::uint32_t seen = progress_.load(std::memory_order_acquire);
    // acquire: pairs with the thread's release when it cleared the bit: we see its work.
    if ((t->poll.load(std::memory_order_acquire) & action) == 0) return;
    std::uint32_t expected = kBlocked;
    if (t->run_state.compare_exchange_strong(expected, kClaimed, std::memory_order_seq_cst)) {
      // The thread may have answered just before it blocked: act only if still pending.
      const std::uint32_t pending = t->poll.load(std::memory_order_acquire) & action;
      if (pending & ~kActionPark) perform_(t, pending & ~kActionPark, true);
      t->poll.fetch_and(~pending, std::memory_order_release);
      if (keep_claimed) {
        claimed_.push_back(t);
      } else {
        t->run_state.store(kBlocked, std::memory_order_release);  // pairs with leave_blocking's CAS
        notify_progress();
      }
      return;
    }
    progress_.wait(seen, std::memory_order_acquire);
  }
}

void Safepoint::stop_the_world() {
  for (ThreadState* t : threads_) t->poll.fetch_or(kActionPark, std::memory_order_seq_cst);
  for (ThreadState* t : threads_) wait_for(t, kActionPark, true);
}

void Safepoint::start_the_world() {
  // release: parked threads acquire the epoch and see what the collector did while they were parked.
  resume_epoch_.fetch_add(1, std::memory_order_release);
  resume_epoch_.notify_all();
  for (ThreadState* t : claimed_) t->run_state.store(kBlocked, std::memory_order_release);
  claimed_.clear();
  notify_progress();
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
    // Park. Read the epoch before acknowledging, so the resume cannot slip in between.
    const std::uint32_t epoch = resume_epoch_.load(std::memory_order_acquire);
    t->poll.fetch_and(~kActionPark, std::memory_order_release);
    notify_progress();
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
    const std::uint32_t seen = progress_.load(std::memory_order_acquire);
    std::uint32_t expected = kBlocked;
    // acquire (seq_cst): we see everything the collector did on our behalf while it held the claim.
    if (t->run_state.compare_exchange_strong(expected, kRunning, std::memory_order_seq_cst)) break;
    progress_.wait(seen, std::memory_order_acquire);
  }
  poll_slow(t);
}

}  // namespace tricolor::internal
