// Threads: handshakes with several mutators, blocking scopes, threads that exit without detaching.
#include "gc/safepoint.hpp"
#include "gc/heap_impl.hpp"
#include "test_heap.hpp"

#include <thread>
#include <vector>

using namespace tricolor;
using tctest::Node;

namespace {
Node* chain(int n, std::uint64_t base) {
  Root<Node> head(nullptr);
  for (int i = 0; i < n; ++i) {
    Node* x = make<Node>(base + std::uint64_t(i));
    x->left = head.get();
    head = x;
  }
  return head;
}
// Catch2's assertions are not thread-safe: worker threads report through return values.
int check_chain(const Node* n) {
  int k = 0;
  for (; n != nullptr; n = n->left) {
    if (!n->intact()) return -1;
    ++k;
  }
  return k;
}
struct Table : Object<Table> {
  static constexpr int kSlots = 64;
  Member<Node> slots[kSlots];
  void trace(Tracer& t) const { t.trace_array(slots, kSlots, "slots"); }
};
}  // namespace

TEST_CASE("4 threads allocate and link objects while any of them triggers collections", "[threads]") {
  Config c = tctest::test_config();
  Heap heap(c);
  Global<Table> table(heap, nullptr, "shared-table");
  {
    Mutator m(heap, "main");
    table = make<Table>();
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int id = 0; id < 4; ++id)
    threads.emplace_back([&, id] {
      Mutator m(heap, "worker");
      Root<Node> mine(chain(50, std::uint64_t(id) << 32));
      for (int i = 0; i < 400; ++i) {
        Root<Node> c2(chain(20, std::uint64_t(id) << 32 | 1000));
        // Publish into the shared table, replacing whatever another thread put there.
        table->slots[(id * 17 + i) % Table::kSlots] = c2.get();
        Node* other = table->slots[(id * 5 + i * 3) % Table::kSlots];
        if (other != nullptr && check_chain(other) != 20) failures.fetch_add(1);
        if (i % 100 == 0) heap.collect();
        safepoint();
      }
      if (check_chain(mine) != 50) failures.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  REQUIRE(failures.load() == 0);
  Mutator m(heap, "main");
  heap.collect();
  for (int i = 0; i < Table::kSlots; ++i)
    if (Node* n = table->slots[i]) REQUIRE(check_chain(n) == 20);
  REQUIRE(heap.stats().cycles >= 4);
}

TEST_CASE("a thread in a blocking scope does not hold up collections and keeps its roots", "[threads]") {
  Heap heap(tctest::test_config());
  std::atomic<int> stage{0};
  std::atomic<int> kept{0};
  std::thread blocked([&] {
    Mutator m(heap, "blocked");
    Root<Node> mine(chain(100, 7));
    {
      BlockingScope scope;
      stage.store(1);
      stage.notify_all();
      for (int s; (s = stage.load()) != 2;) stage.wait(s);
    }
    kept = check_chain(mine);
  });
  for (int s; (s = stage.load()) == 0;) stage.wait(s);
  for (int i = 0; i < 3; ++i) heap.collect();  // would hang if the blocked thread held it up
  REQUIRE(heap.stats().cycles >= 3);
  stage.store(2);
  stage.notify_all();
  blocked.join();
  REQUIRE(kept.load() == 100);
}

TEST_CASE("a thread that exits without destroying its Mutator is detached", "[threads]") {
  Heap heap(tctest::test_config());
  alignas(Mutator) unsigned char storage[sizeof(Mutator)];
  std::thread t([&] {
    new (storage) Mutator(heap, "leaky");  // never destroyed: the thread-exit hook detaches it
    make<Node>(1);
  });
  t.join();
  heap.collect();
  REQUIRE(heap.stats().cycles >= 1);
}

TEST_CASE("handshakes count on every thread and record per-thread pauses", "[threads][stats]") {
  Config c = tctest::test_config();
  // Only the collections below: with pacing on, the busy thread's garbage could take the heap to
  // twice its goal, and a thread waiting for the cycle there is blocked, its root scans done on its
  // behalf (no pause of its own). Seen once, in a parallel test run on a loaded 2-core machine.
  c.gc_percent = -1;
  Heap heap(c);
  Mutator m(heap, "main");
  std::atomic<bool> stop{false};
  std::atomic<bool> attached{false};
  std::thread busy([&] {
    Mutator m2(heap, "busy");
    attached.store(true);
    attached.notify_all();
    while (!stop.load(std::memory_order_relaxed)) {
      make<Node>(1);
      safepoint();
    }
  });
  // The collections below must find the busy thread attached and running (it answers its own root
  // scans; main, waiting in collect(), is scanned on its behalf and records no pause).
  {
    BlockingScope waiting;
    attached.wait(false);
  }
  for (int i = 0; i < 3; ++i) heap.collect();
  stop = true;
  {
    BlockingScope waiting;  // an attached thread that waits must let collections proceed
    busy.join();
  }
  const Stats s = heap.stats();
  bool saw_root_scan = false;
  for (const Pause& p : s.pauses) saw_root_scan |= p.kind == PauseKind::kRootScan;
  REQUIRE(saw_root_scan);
  REQUIRE(s.thread_pauses.count > 0);
}

// A thread that enters and leaves blocking scopes, or answers handshakes, while the collector is not
// asleep waiting for it makes no wake-up system call (Safepoint::notify_progress). Here no cycle runs
// (gc_percent off), so nobody ever sleeps on the progress count.
TEST_CASE("blocking scopes with no collector waiting make no wake-up calls", "[threads]") {
  Config c = tctest::test_config();
  c.gc_percent = -1;
  c.periodic_gc_ms = 0;
  Heap heap(c);
  Mutator m(heap, "blocker");
  const std::uint64_t before = heap.impl().safepoint.wakes_for_testing();
  for (int i = 0; i < 1000; ++i) {
    BlockingScope blocked;
  }
  CHECK(heap.impl().safepoint.wakes_for_testing() == before);
  // And a collection, whose controller does wait, still completes: the waits are woken.
  Root<Node> keep(chain(100, 7));
  heap.collect();
  CHECK(check_chain(keep.get()) == 100);
}
