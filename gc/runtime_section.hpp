// The runtime section: answering a handshake round for a thread that is running, not only for one
// that is blocked.
//
// Why. A round lasts until every attached thread has answered. A running thread answers at its next
// poll; on a machine with more runnable threads than cores, one that the scheduler has preempted
// answers only once it gets a core back, a scheduler slice later (1-3 ms here). Measured on this
// project's 2-core machine, GCBench with two threads and the CPU-bound probe (three attached,
// CPU-bound threads): 300 ms of each 0.65 s run were handshake rounds, and the cycles ran back to
// back. A preempted thread is doing nothing, so for the rounds whose work the collector can do itself
// it should not be waited for.
//
// Which rounds. Those whose work touches only state that the thread's inline code never touches:
//  - the flush round (kActionFlush): the barrier buffer and the thread's marking context;
//  - ragged termination's round 1 (kActionMarkDone): the same, plus the barrier's on/off flag and the
//    assist debt.
// Only the out-of-line slow paths read or write these (write_barrier_slow and the other barrier slow
// paths, the allocation slow paths with their assists, poll_slow): each runs inside a runtime
// section. Outside every section the thread's copy of that state is consistent and unused, whatever
// instruction the thread is at, so the collector may do the round's work on the thread's behalf. The
// other rounds touch what inline code uses (the allocation windows: the root round and round 2 give
// the caches back; the roots list) or need the thread to be at a poll (the barrier round: an inline
// barrier that read "no heap marks" just before the round may not store without a barrier once the
// round is over), so they still wait for the thread's own answer.
//
// Why an answer at any instruction outside a section is as good as one at a poll. Flush: the
// termination argument (gc/collector.cpp, "Termination") uses only that the buffer is flushed at the
// answer and that, after it, the thread takes a white object into its buffer only by deleting a
// reference to it; both hold at any point of a thread whose roots are scanned. A thread interrupted
// between an inline barrier's check and its slow path still holds the old value in a register, and the
// slot it is about to overwrite still holds it too: that old value is protected by the slot until
// the slow path records it, after the answer, the case the argument covers. Termination round 1: every
// reachable object is black by then, so the barrier may go off at any instruction; a slow path entered
// afterwards reads the flag inside its section and records nothing.
//
// The protocol (an asymmetric Dekker: two flags, and a fence that only the collector pays for):
//   thread, entering its outermost section:   in_runtime = 1;  light fence;  if (claim) wait
//   thread, leaving it:                       in_runtime = 0 (release)
//   collector, for a thread that owes the round (once per round, when it has not answered within
//   the collector's spin: gc/safepoint.hpp, step 1b):
//                                             claim = 1;  heavy fence;
//                                             if (in_runtime == 0 (acquire)) do its part, clear its bit;
//                                             claim = 0 (release)
// The light fence only keeps the compiler from reordering; the heavy fence is membarrier(2)
// (MEMBARRIER_CMD_PRIVATE_EXPEDITED): when it returns, every thread of the process that was running
// has executed a full memory barrier, and one that was not running has been switched out (which is
// one). So for a thread and the collector one of two things holds: the thread's store of in_runtime
// = 1 precedes that barrier and the collector reads 1 (and leaves the thread alone), or the thread's
// load of the claim follows it and reads 1 (and the thread waits until the collector is done). Never
// both read 0. The release/acquire pairs order the data: the collector reads what the thread's last
// section wrote (its release of in_runtime), and the thread, after waiting, reads what the collector
// did for it (the claim's release).
// The thread waits for the collector only while the collector does one round's part for it (one
// buffer of at most BarrierBuffer::kCapacity entries), and only if it re-enters the runtime in that
// window: spin briefly, then sleep on the claim word.
// Without membarrier (an old kernel, a sandbox that filters it) nothing is claimed and every round
// waits for the thread's own answer, as before.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gc/thread_state.hpp"

namespace tricolor::internal {

// runtime_claim: 0 free; kRuntimeClaimed while the collector holds it; kRuntimeClaimWaited once the thread met the
// claim and sleeps on the word (the collector's release then wakes it: no system call otherwise).
inline constexpr std::uint32_t kRuntimeClaimed = 1;
inline constexpr std::uint32_t kRuntimeClaimWaited = 2;

// Whether the heavy fence is available (membarrier registered for this process); the first call
// registers it.
bool heavy_fence_available();
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED). Only after heavy_fence_available() returned true.
void heavy_fence();
// The thread found the collector's claim on entry: waits until the collector has done its part.
[[gnu::noinline, gnu::cold]] void wait_for_runtime_claim(ThreadState* t);

// Keeps the compiler from moving the claim's load above the store of in_runtime; the heavy fence on
// the other side does the rest. Under TSan a real fence, so that the tool sees a barrier on this
// side too (it does not know membarrier).
#if defined(__SANITIZE_THREAD__)
#define TC_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_UNDER_TSAN 1
#endif
#endif
inline void light_fence() {
#if defined(TC_UNDER_TSAN)
  std::atomic_thread_fence(std::memory_order_seq_cst);  // seq_cst: the Dekker's store-load order
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);  // seq_cst: a compiler barrier, both ways
#endif
}

// The collector's half, for a set of threads: claims each, one heavy fence, runs part(t) for each one
// found outside every section, and releases the claims. Returns how many parts ran. Only after
// heavy_fence_available() returned true, and by one claimer at a time (the collector holds
// threads_mu: a second claimer's release would end the first one's claim). (Safepoint::answer_outside_runtime runs a round's part
// through it.)
template <class Part>
std::size_t act_outside_runtime(const std::vector<ThreadState*>& threads, Part&& part) {
  if (threads.empty()) return 0;
  // relaxed: the heavy fence orders these stores before the loads of in_runtime below.
  for (ThreadState* t : threads) t->runtime_claim.store(kRuntimeClaimed, std::memory_order_relaxed);
  heavy_fence();
  std::size_t ran = 0;
  for (ThreadState* t : threads) {
    // acquire: pairs with the release that ended the thread's last section (its buffer, its context).
    if (t->in_runtime.load(std::memory_order_acquire) == 0) {
      part(t);
      ++ran;
    }
    // release: pairs with the acquire of the thread's next section entry, or of its wait; a thread
    // that met the claim and went to sleep on it (2) is woken.
    if (t->runtime_claim.exchange(0, std::memory_order_release) == kRuntimeClaimWaited) [[unlikely]]
      t->runtime_claim.notify_all();
  }
  return ran;
}

// Marks a slow path as inside the runtime for its lifetime; nests (only the outermost section
// touches the flags). Enter it before taking any lock: entering may wait for the collector, which
// takes the marker pool's lock while it holds the claim.
class RuntimeSection {
 public:
  explicit RuntimeSection(ThreadState* t) : t_(t) {
    if (t_->runtime_depth++ != 0) return;
    // relaxed: ordered before the claim's load by the light fence here and the heavy fence there.
    t_->in_runtime.store(1, std::memory_order_relaxed);
    light_fence();
    // acquire: pairs with the collector's release of the claim (we see what it did for us).
    if (t_->runtime_claim.load(std::memory_order_acquire) != 0) [[unlikely]]
      wait_for_runtime_claim(t_);
  }
  ~RuntimeSection() {
    // release: the collector that reads 0 sees everything this section wrote.
    if (--t_->runtime_depth == 0) t_->in_runtime.store(0, std::memory_order_release);
  }
  RuntimeSection(const RuntimeSection&) = delete;
  RuntimeSection& operator=(const RuntimeSection&) = delete;

 private:
  ThreadState* t_;
};

}  // namespace tricolor::internal
