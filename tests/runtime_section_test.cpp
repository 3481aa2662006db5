// The runtime section (gc/runtime_section.hpp): the collector does a flush round's and ragged
// termination round 1's part for a running thread outside every slow path, and never for one inside
// a slow path. Synchronisation is by atomics and gates, never by sleeping; the one deadline below
// only turns a hang (the behaviour without the feature) into a failure.
#include "gc/runtime_section.hpp"

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gc/heap_impl.hpp"
#include "gc/testing.hpp"
#include "test_heap.hpp"

using namespace tricolor;
using tctest::Node;

namespace {
internal::ThreadState* state_of_this_thread() { return internal::as_state(internal::tls_thread); }

Config only_requested_cycles() {
  Config c = tctest::test_config();
  c.initial_heap = 64u << 20;
  c.periodic_gc_ms = 0;
  return c;
}
}  // namespace

TEST_CASE("the collector never acts for a thread while it is inside a runtime section", "[runtime_section]") {
  if (!internal::heavy_fence_available()) {
    WARN("membarrier is not available here: nothing is ever claimed");
    return;
  }
  Heap heap(only_requested_cycles());  // no cycle: this test is the only claimer
  constexpr int kSections = 100000;
  std::atomic<int> owner{0};  // 1: the thread is in a section, 2: the collector side acts for it
  std::atomic<int> overlaps{0};
  std::uint64_t shared = 0;  // plain: written by both sides, never at once (TSan checks that too)
  std::atomic<internal::ThreadState*> state{nullptr};
  std::atomic<bool> done{false}, finish{false};
  std::thread mutator([&] {
    Mutator m(heap, "sections");
    internal::ThreadState* self = state_of_this_thread();
    state.store(self, std::memory_order_release);
    for (int i = 0; i < kSections; ++i) {
      internal::RuntimeSection section(self);
      if (owner.exchange(1) != 0) overlaps.fetch_add(1);
      ++shared;
      owner.store(0);
    }
    done.store(true, std::memory_order_release);
    // Outside every section from here on: the last claim below must act.
    while (!finish.load(std::memory_order_acquire)) std::this_thread::yield();
  });
  while (state.load(std::memory_order_acquire) == nullptr) std::this_thread::yield();
  const std::vector<internal::ThreadState*> one{state.load()};
  auto act = [&](internal::ThreadState*) {
    if (owner.exchange(2) != 0) overlaps.fetch_add(1);
    ++shared;
    owner.store(0);
  };
  std::size_t acted = 0, last = 0;
  {
    std::lock_guard lock(heap.impl().safepoint.threads_mu());  // one claimer at a time, as the collector
    while (!done.load(std::memory_order_acquire)) acted += internal::act_outside_runtime(one, act);
    last = internal::act_outside_runtime(one, act);
  }
  finish.store(true, std::memory_order_release);
  mutator.join();
  REQUIRE(overlaps.load() == 0);
  REQUIRE(last == 1);
  REQUIRE(shared == kSections + acted + last);
}

// A thread that answered the barrier and root rounds itself, then runs without polling (as one the
// scheduler preempted in user code): the flush rounds and termination round 1 go on without it, and
// the shade it holds in its barrier buffer (the only thing that keeps an object alive) is found on
// its behalf. Without the feature the flush round waits for the thread until its deadline, and the
// flip never comes while it is held.
TEST_CASE("flush and termination rounds are answered for a running thread outside the runtime",
          "[runtime_section][ragged][termination]") {
  if (!internal::heavy_fence_available()) {
    WARN("membarrier is not available here: rounds wait for the thread");
    return;
  }
  Config c = only_requested_cycles();
  c.verify = false;  // the verifier checks termination in a stop, which the held thread cannot answer
  Heap heap(c);
  std::atomic<int> step{0};
  std::atomic<bool> buffered{false}, flipped_while_held{false}, survived{false};
  std::thread held([&] {
    Mutator m(heap, "held");
    internal::ThreadState* self = state_of_this_thread();
    Root<Node> p(make<Node>(1));
    p->left = make<Node>(99);
    p->left->left = make<Node>(100);  // reachable only through p->left
    step.store(1);
    while (!self->allocate_black) safepoint();  // this thread answers the barrier and root rounds
    // The markers are held, so X = p->left is still white. Delete the only edge to it: the barrier
    // records X in this thread's buffer, and nothing else will ever lead a marker to it.
    Root<Node> x(p->left.get());
    p->left = nullptr;
    {
      internal::RuntimeSection section(self);  // the buffer is read inside, as a slow path would
      buffered.store(self->barrier.n != 0);
    }
    const std::uint32_t generation = heap.impl().collector.sweep_gen();
    step.store(2);
    // Held: no poll, no slow path, until the flip shows that termination round 1 is over.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (heap.impl().collector.sweep_gen() == generation && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    flipped_while_held.store(heap.impl().collector.sweep_gen() != generation);
    safepoint();  // round 2, which needs this thread's own answer
    heap.collect();
    heap.collect();
    for (int i = 0; i < 20000; ++i) make<Node>(std::uint64_t(i));  // reuse what the sweeps freed
    survived.store(x->intact() && x->value == 99 && x->left != nullptr && x->left->intact() && x->left->value == 100);
  });
  while (step.load() < 1) std::this_thread::yield();
  internal::hold_markers_for_testing(heap, true);
  heap.impl().collector.request_cycle();
  while (step.load() < 2) std::this_thread::yield();
  internal::hold_markers_for_testing(heap, false);
  held.join();
  std::uint64_t answered = 0;
  {
    std::lock_guard lock(heap.impl().safepoint.threads_mu());
    answered = heap.impl().safepoint.answered_for_running();
  }
  REQUIRE(buffered.load());
  REQUIRE(flipped_while_held.load());
  REQUIRE(answered >= 2);  // at least one flush round and termination round 1
  REQUIRE(survived.load());
}
