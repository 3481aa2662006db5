// Run-time knobs (Heap::set_gc_percent / set_soft_limit and their C forms): the pacer's goal follows
// a change at once, a change that puts the heap past its trigger starts a cycle, and changes racing
// with running cycles and allocating threads leave the heap intact (this file is in the TSan suite).
// Out-of-range values are death tests in misuse_test.cpp.
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <chrono>
#include <thread>
#include <vector>

#include "tricolor/tricolor.h"

using namespace tricolor;
using tctest::Node;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A chain of n nodes kept by the caller's Root.
Node* build_chain(std::size_t n) {
  Root<Node> head(make<Node>(0), "head");
  Node* tail = head.get();
  for (std::size_t i = 1; i < n; ++i) {
    Node* next = make<Node>(i);
    tail->left = next;
    tail = next;
  }
  return head.get();
}

// Waits for the heap's next completed cycle through Config::on_event (never a sleep). The deadline
// only turns a missing cycle into a failure instead of a hang.
struct CycleWatch {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t swept = 0;
  void on_event(const Event& e) {
    if (e.phase != Phase::kSweep) return;
    {
      std::lock_guard lock(mu);
      ++swept;
    }
    cv.notify_all();
  }
  bool wait_beyond(std::uint64_t n) {
    BlockingScope waiting;  // the cycle must not wait for this (attached) thread
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return swept > n; });
  }
};

bool near(std::size_t a, double b) { return double(a) >= b - 16 && double(a) <= b + 16; }

}  // namespace

TEST_CASE("set_gc_percent recomputes the goal from the last live heap and returns the old value", "[knobs]") {
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  tctest::TestHeap h(c);
  Root<Node> keep(build_chain(60000), "keep");
  h.collect_now();
  const std::size_t live = h.stats().live_bytes;
  REQUIRE(live > 2 * kMiB);  // above initial_heap (1 MiB), so the percentage decides the goal
  REQUIRE(near(h.stats().heap_goal, double(live) * 2.0));

  REQUIRE(h.heap.set_gc_percent(300) == 100);
  REQUIRE(near(h.stats().heap_goal, double(live) * 4.0));
  REQUIRE(h.heap.set_gc_percent(50) == 300);
  REQUIRE(near(h.stats().heap_goal, double(live) * 1.5));
  // Off with no limit: no goal at all.
  REQUIRE(h.heap.set_gc_percent(-1) == 50);
  REQUIRE(h.stats().heap_goal >= SIZE_MAX / 4);
  // The construction config is what it was.
  REQUIRE(h.heap.config().gc_percent == 100);
}

TEST_CASE("set_soft_limit caps the goal, never below 1.25x live, and 0 removes it", "[knobs]") {
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  tctest::TestHeap h(c);
  Root<Node> keep(build_chain(60000), "keep");
  h.collect_now();
  const std::size_t live = h.stats().live_bytes;
  REQUIRE(h.heap.set_soft_limit(live * 3 / 2) == 0);
  REQUIRE(near(h.stats().heap_goal, double(live * 3 / 2)));
  // A limit under the live heap cannot be met: the goal stays at 1.25x live (no death spiral).
  REQUIRE(h.heap.set_soft_limit(live / 2) == live * 3 / 2);
  REQUIRE(near(h.stats().heap_goal, double(live) * 1.25));
  // Collection off, but a soft limit: the limit is the goal (Go's GOGC=off GOMEMLIMIT=x).
  h.heap.set_gc_percent(-1);
  REQUIRE(h.heap.set_soft_limit(8 * live) == live / 2);
  REQUIRE(near(h.stats().heap_goal, double(8 * live)));
  REQUIRE(h.heap.set_soft_limit(0) == 8 * live);
  REQUIRE(h.stats().heap_goal >= SIZE_MAX / 4);
}

TEST_CASE("a soft limit set with a hard limit stays under the hard limit", "[knobs]") {
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  c.gc_percent = -1;
  c.max_heap = 64 * kMiB;
  tctest::TestHeap h(c);
  const std::size_t under_hard = c.max_heap / 20 * 19;
  REQUIRE(h.stats().heap_goal <= under_hard);
  h.heap.set_soft_limit(1024 * kMiB);
  REQUIRE(h.stats().heap_goal <= under_hard);
  h.heap.set_soft_limit(16 * kMiB);
  REQUIRE(h.stats().heap_goal == 16 * kMiB);
  h.heap.set_soft_limit(0);
  REQUIRE(h.stats().heap_goal <= under_hard);
}

TEST_CASE("turning collection back on past the trigger starts a cycle without another allocation", "[knobs]") {
  CycleWatch watch;
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  c.gc_percent = -1;
  c.on_event = [&watch](const Event& e) { watch.on_event(e); };
  tctest::TestHeap h(c);
  for (int i = 0; i < 200000; ++i) make<Node>(std::uint64_t(i));  // ~10 MB of garbage, 10x initial_heap
  REQUIRE(h.stats().cycles == 0);
  REQUIRE(h.heap.set_gc_percent(100) == -1);
  REQUIRE(watch.wait_beyond(0));
  REQUIRE(h.stats().cycles >= 1);
}

TEST_CASE("a soft limit below the heap starts a cycle", "[knobs]") {
  CycleWatch watch;
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  c.gc_percent = -1;
  c.on_event = [&watch](const Event& e) { watch.on_event(e); };
  tctest::TestHeap h(c);
  for (int i = 0; i < 200000; ++i) make<Node>(std::uint64_t(i));
  REQUIRE(h.stats().cycles == 0);
  h.heap.set_soft_limit(2 * kMiB);
  REQUIRE(watch.wait_beyond(0));
}

TEST_CASE("knobs change while cycles run and threads allocate", "[knobs][concurrency]") {
  Config c = tctest::test_config();
  c.periodic_gc_ms = 0;
  Heap heap(c);  // this thread stays unattached: it only turns knobs
  std::atomic<int> running{2};
  std::atomic<bool> broken{false};  // Catch's REQUIRE is not for other threads
  auto work = [&](int seed) {
    Mutator m(heap, "allocator");
    {
      Root<Node> keep(build_chain(2000), "keep");
      for (int round = 0; round < 60; ++round) {
        Root<Node> fresh(build_chain(2000), "fresh");  // the previous round's chain is garbage
        for (Node* n = fresh.get(); n != nullptr; n = n->left.get()) if (!n->intact()) broken.store(true);
        make_buffer(std::size_t(64 + (round * 7919 + seed) % 20000));
      }
      for (Node* n = keep.get(); n != nullptr; n = n->left.get())
        if (!n->intact()) broken.store(true);
    }
    running.fetch_sub(1, std::memory_order_release);  // pairs with the acquire load below
  };
  std::thread a(work, 1), b(work, 2);
  static constexpr int kPercents[] = {-1, 0, 25, 100, 1000};
  static constexpr std::size_t kLimits[] = {0, 2 * kMiB, 64 * kMiB};
  std::uint64_t changes = 0;
  for (unsigned i = 0; running.load(std::memory_order_acquire) != 0; ++i, ++changes) {
    heap.set_gc_percent(kPercents[i % 5]);
    heap.set_soft_limit(kLimits[i % 3]);
    std::this_thread::yield();
  }
  a.join();
  b.join();
  heap.set_gc_percent(100);
  heap.set_soft_limit(0);
  heap.collect();  // the verifier (test_config) re-traces this cycle
  REQUIRE_FALSE(broken.load());
  REQUIRE(changes > 0);
  REQUIRE(heap.stats().cycles >= 2);
}

TEST_CASE("the C API's knobs", "[knobs][c_api]") {
  tc_config cfg;
  tc_config_init(&cfg);
  cfg.periodic_gc_ms = 0;
  tc_heap* heap = tc_heap_create(&cfg);
  REQUIRE(heap != nullptr);
  REQUIRE(tc_heap_set_gc_percent(heap, 250) == 100);
  REQUIRE(tc_heap_set_gc_percent(heap, -1) == 250);
  REQUIRE(tc_heap_set_soft_limit(heap, 32 * kMiB) == 0);
  tc_stats s;
  tc_heap_stats(heap, &s);
  REQUIRE(s.heap_goal == 32 * kMiB);
  REQUIRE(tc_heap_set_soft_limit(heap, 0) == 32 * kMiB);
  tc_heap_destroy(heap);
}
