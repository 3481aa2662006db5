// The defined side of the reentrancy rules (the refusals are death tests in misuse_test.cpp): a
// thread's allocation windows are parked inside a BlockingScope and while it runs the sweep's
// destructors, and come back intact; a finalizer that throws propagates out of run_finalizers().
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace tricolor;
using tctest::Counted;
using tctest::Node;

namespace {

Config quiet_config() {
  Config c = tctest::test_config();
  c.gc_percent = -1;
  c.periodic_gc_ms = 0;
  return c;
}

// Runs one cycle to its end without sweeping: only this thread sweeps afterwards, lazily.
void cycle_without_sweeping(Heap& heap) {
  auto& impl = heap.impl();
  const std::uint64_t target = impl.collector.cycles_completed() + 1;
  impl.collector.request_cycle();
  BlockingScope waiting;  // the cycle scans this thread's roots on its behalf
  while (impl.collector.cycles_completed() < target) std::this_thread::yield();
}

// A rooted list of n nodes with values first..first+n-1, built on `list`.
void push_nodes(Root<Node>& list, std::uint64_t first, int n) {
  for (int i = 0; i < n; ++i) {
    Node* x = make<Node>(first + static_cast<std::uint64_t>(i));
    x->left = list.get();
    list = x;
  }
}

// Every node intact, every address distinct.
std::size_t check_nodes(Node* list) {
  std::set<const Node*> seen;
  for (Node* x = list; x != nullptr; x = x->left) {
    REQUIRE(x->intact());
    REQUIRE(seen.insert(x).second);
  }
  return seen.size();
}

}  // namespace

TEST_CASE("a BlockingScope gives the thread its allocation windows back", "[blocking]") {
  tctest::TestHeap h(quiet_config());
  Root<Node> list(nullptr, "list");
  push_nodes(list, 0, 10);
  const std::size_t before = h.stats().allocated_bytes;
  for (int i = 0; i < 1000; ++i) {
    BlockingScope blocked;
    BlockingScope nested;
  }
  push_nodes(list, 10, 10);
  // The window of Node's class came back: no new span was taken for the second ten.
  REQUIRE(h.stats().allocated_bytes == before);
  REQUIRE(check_nodes(list.get()) == 20);
}

TEST_CASE("caches released on behalf of a blocked thread stay exact", "[blocking]") {
  // While this thread is blocked with its windows parked, collections take its cache (stop the
  // world, release on its behalf): the parked slots must count as free, not lost or handed out twice.
  tctest::TestHeap h(quiet_config());
  Root<Node> list(nullptr, "list");
  for (int round = 0; round < 20; ++round) {
    push_nodes(list, std::uint64_t(round) * 1000, 300);
    for (int i = 0; i < 200; ++i) make<Node>(999999);  // garbage beside the live ones
    {
      BlockingScope blocked;
      std::thread([&] { h.heap.collect(); }).join();
    }
  }
  h.collect_now();
  REQUIRE(check_nodes(list.get()) == 20 * 300);
}

TEST_CASE("an attached thread that sweeps destructors lazily goes on allocating correctly", "[sweep]") {
  // Only this thread sweeps (no background sweeper, no cycle but the ones below); the destructors
  // of dead Counted objects run in its allocation slow path with its windows parked, and its
  // windows come back intact.
  Config c = quiet_config();
  c.background_sweeper = false;
  tctest::TestHeap h(c);
  const long live_before = Counted::live.load();
  Root<Node> list(nullptr, "list");
  for (int round = 0; round < 20; ++round) {
    push_nodes(list, std::uint64_t(round) * 100, 100);
    for (int i = 0; i < 2000; ++i) make<Counted>();
    cycle_without_sweeping(h.heap);
  }
  // 19 rounds of garbage were swept lazily, here, by the allocations of the next round.
  REQUIRE(Counted::live.load() - live_before <= 2 * 2000);
  REQUIRE(check_nodes(list.get()) == 20 * 100);
  h.collect_now();
  REQUIRE(Counted::live.load() == live_before);
  REQUIRE(check_nodes(list.get()) == 20 * 100);
}

TEST_CASE("a finalizer that throws: the exception reaches run_finalizers' caller, the rest stay pending",
          "[finalizer]") {
  tctest::TestHeap h(quiet_config());
  static int ran = 0;
  ran = 0;
  for (int i = 0; i < 3; ++i) {
    Root<Node> n(make<Node>(std::uint64_t(i)));
    h.heap.set_finalizer(n.get(), [](void* obj, void*) {
      REQUIRE(static_cast<Node*>(obj)->intact());
      ++ran;
      throw std::runtime_error("finalizer failed");
    });
  }
  h.collect_now();
  REQUIRE(h.heap.pending_finalizers() == 3);
  for (int i = 1; i <= 3; ++i) {
    REQUIRE_THROWS_WITH(h.heap.run_finalizers(), "finalizer failed");
    REQUIRE(ran == i);  // one finalizer per call: the one that threw counts as run
    REQUIRE(h.heap.pending_finalizers() == std::size_t(3 - i));
  }
  REQUIRE(h.heap.run_finalizers() == 0);
  // The thread's root stack unwound cleanly, and the objects are collected like any other.
  Root<Node> after(make<Node>(7));
  h.collect_now();
  REQUIRE(after->intact());
  REQUIRE(h.heap.pending_finalizers() == 0);
}
